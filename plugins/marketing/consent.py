"""Consent per contact and purpose, with its proof; suppressions; the gate
(:func:`may_send`) every marketing email goes through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import kith
from pydantic import BaseModel, Field

from . import links
from .settings import marketing_settings
from .tables import MarketingConsent, MarketingSuppression

STATUSES = ("pending", "granted", "withdrawn")


class ConsentOut(BaseModel):
    contact: int
    purpose: str
    status: str
    source: str
    proof: dict[str, Any]
    granted_at: datetime | None
    withdrawn_at: datetime | None


def consent_out(row: dict[str, Any]) -> ConsentOut:
    return ConsentOut(
        contact=row["contact_id"],
        purpose=row["purpose"],
        status=row["status"],
        source=row["source"],
        proof=row["proof"] or {},
        granted_at=row["granted_at"],
        withdrawn_at=row["withdrawn_at"],
    )


def check_purpose(ctx: kith.Context, purpose: str, field: str = "purpose") -> str:
    known = marketing_settings(ctx).purposes
    if purpose not in known:
        raise kith.invalid(
            field, f"no consent purpose is called {purpose!r} (known: {', '.join(known)})"
        )
    return purpose


async def contact_row(ctx: kith.Context, contact_id: int, field: str = "contact") -> dict[str, Any]:
    row = await ctx.find_one(kith.Contact, id=contact_id)
    if row is None or row.get("archived_at") is not None:
        raise kith.not_found("contact", contact_id, field)
    return row


async def record(
    ctx: kith.Context,
    contact_id: int,
    purpose: str,
    status: str,
    source: str,
    proof: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Set ``contact_id``'s consent for ``purpose``; returns the row and whether it changed.
    A granted consent is not lowered to pending by a new form post."""
    now = ctx.now()
    row = await ctx.find_one(MarketingConsent, contact_id=contact_id, purpose=purpose)
    before = None if row is None else row["status"]
    if row is None:
        row = await ctx.insert(
            MarketingConsent,
            {
                "contact_id": contact_id,
                "purpose": purpose,
                "status": status,
                "source": source[:200],
                "proof": proof,
                "granted_at": now if status == "granted" else None,
                "withdrawn_at": now if status == "withdrawn" else None,
            },
            record_history=False,
        )
        changed = True
    else:
        if row["status"] == status or (row["status"] == "granted" and status == "pending"):
            return row, False
        changes: dict[str, Any] = {"status": status, "source": source[:200], "proof": proof}
        if status == "granted":
            changes.update(granted_at=now, withdrawn_at=None)
        elif status == "withdrawn":
            changes["withdrawn_at"] = now
        row, _ = await ctx.update(MarketingConsent, row, changes, record_history=False)
        changed = True
    ctx.record_history(
        "contact", contact_id, f"consent_{status}", {f"consent.{purpose}": [before, status]}
    )
    event = {"granted": "consent.granted", "withdrawn": "consent.withdrawn"}.get(
        status, "consent.requested"
    )
    ctx.emit(event, "contact", contact_id, purpose=purpose, source=source)
    return row, changed


class Grant(kith.Input):
    contact: int
    purpose: str = Field(max_length=50)
    source: str = Field(min_length=1, max_length=200, description="Where it was given")
    proof: dict[str, Any] = Field(
        default_factory=dict, max_length=20, description="What shows it: text shown, IP…"
    )


class Withdraw(kith.Input):
    contact: int
    purpose: str | None = Field(None, max_length=50, description="None: every purpose")
    source: str = Field("withdrawn by staff", max_length=200)


class ContactRef(kith.Input):
    contact: int


class ConsentList(BaseModel):
    items: list[ConsentOut]


class TokenIn(kith.Input):
    token: str = Field(min_length=10, max_length=2000)


class Check(kith.Input):
    contact: int
    purpose: str = Field(max_length=50)


class CheckOut(BaseModel):
    allowed: bool
    reason: str


class Suppress(kith.Input):
    email: kith.Email
    reason: str = Field("manual", pattern="^(manual|complaint|bounce)$")
    detail: str = Field("", max_length=1000)


class SuppressionOut(BaseModel):
    email: str
    reason: str
    detail: str


@kith.command("consent.grant", input=Grant, output=ConsentOut, permission="consents.write")
async def grant(ctx: kith.Context, data: Grant) -> ConsentOut:
    """Record that a contact gave consent for a purpose (say where, and the proof)."""
    check_purpose(ctx, data.purpose)
    await contact_row(ctx, data.contact)
    proof = {**data.proof, "recorded_by": ctx.actor.label, "at": ctx.now().isoformat()}
    row, _ = await record(ctx, data.contact, data.purpose, "granted", data.source, proof)
    return consent_out(row)


@kith.command("consent.withdraw", input=Withdraw, output=ConsentList, permission="consents.write")
async def withdraw(ctx: kith.Context, data: Withdraw) -> ConsentList:
    """Withdraw a contact's consent for one purpose, or for all."""
    await contact_row(ctx, data.contact)
    purposes = [check_purpose(ctx, data.purpose)] if data.purpose else None
    rows = await ctx.select(MarketingConsent, contact_id=data.contact)
    out = []
    for row in rows:
        if purposes is None or row["purpose"] in purposes:
            row, _ = await record(
                ctx, data.contact, row["purpose"], "withdrawn", data.source, {"by": ctx.actor.label}
            )
        out.append(consent_out(row))
    return ConsentList(items=out)


@kith.command(
    "consent.list", input=ContactRef, output=ConsentList, permission="consents.read", read_only=True
)
async def list_consents(ctx: kith.Context, data: ContactRef) -> ConsentList:
    """A contact's consent, purpose by purpose, with when, where and the proof."""
    await contact_row(ctx, data.contact)
    rows = await ctx.select(MarketingConsent, contact_id=data.contact, order_by="purpose")
    return ConsentList(items=[consent_out(r) for r in rows])


@kith.command("consent.confirm", input=TokenIn, output=ConsentList, permission="consents.write")
async def confirm(ctx: kith.Context, data: TokenIn) -> ConsentList:
    """Confirm a double opt-in from the signed link in the confirmation email."""
    signed = links.read(ctx, links.OPTIN, data.token)
    contact_id, purposes = int(signed["c"]), [str(p) for p in signed["p"]]
    await contact_row(ctx, contact_id, "token")
    out = []
    for purpose in purposes:
        row = await ctx.find_one(MarketingConsent, contact_id=contact_id, purpose=purpose)
        if row is None or row["status"] == "withdrawn":
            continue  # withdrawn since: a late click does not undo it
        proof = {**(row["proof"] or {}), "confirmed_at": ctx.now().isoformat()}
        row, _ = await record(ctx, contact_id, purpose, "granted", "double opt-in", proof)
        out.append(consent_out(row))
    return ConsentList(items=out)


@kith.command("consent.unsubscribe", input=TokenIn, output=ConsentList, permission="consents.write")
async def unsubscribe(ctx: kith.Context, data: TokenIn) -> ConsentList:
    """Withdraw consent from the signed unsubscribe link of a marketing email."""
    signed = links.read(ctx, links.UNSUBSCRIBE, data.token)
    contact_id, purpose = int(signed["c"]), str(signed["p"])
    await contact_row(ctx, contact_id, "token")
    row, _ = await record(ctx, contact_id, purpose, "withdrawn", "unsubscribe link", {})
    return ConsentList(items=[consent_out(row)])


async def may_send(ctx: kith.Context, contact_id: int, purpose: str) -> tuple[bool, str, str]:
    """``(allowed, reason, address)``: whether marketing mail for ``purpose`` may go to the
    contact — consent granted, an address, not suppressed, not bounced."""
    contact = await contact_row(ctx, contact_id)
    consent = await ctx.find_one(MarketingConsent, contact_id=contact_id, purpose=purpose)
    if consent is None or consent["status"] != "granted":
        state = "never given" if consent is None else consent["status"]
        return False, f"no consent for {purpose} ({state})", ""
    address = (contact.get("email") or "").lower()
    if not address:
        return False, "the contact has no email address", ""
    if await ctx.find_one(MarketingSuppression, email=address) is not None:
        return False, f"{address} is suppressed", address
    mail = await ctx.find_one(kith.ContactEmail, email=address)
    if mail is not None and mail.get("undeliverable"):
        return False, f"{address} bounced (undeliverable)", address
    return True, "consent granted", address


@kith.command(
    "consent.check", input=Check, output=CheckOut, permission="consents.read", read_only=True
)
async def check(ctx: kith.Context, data: Check) -> CheckOut:
    """Whether marketing mail for a purpose may go to a contact, and why (not)."""
    check_purpose(ctx, data.purpose)
    allowed, reason, _ = await may_send(ctx, data.contact, data.purpose)
    return CheckOut(allowed=allowed, reason=reason)


@kith.command("suppression.add", input=Suppress, output=SuppressionOut, permission="consents.write")
async def suppress(ctx: kith.Context, data: Suppress) -> SuppressionOut:
    """Never send marketing mail to an address again (a complaint, a bounce, a request)."""
    row = await ctx.find_one(MarketingSuppression, email=data.email)
    if row is None:
        row = await ctx.insert(
            MarketingSuppression,
            {"email": data.email, "reason": data.reason, "detail": data.detail},
            record_history=False,
        )
        ctx.emit("suppression.added", None, None, email=data.email, reason=data.reason)
    return SuppressionOut(email=row["email"], reason=row["reason"], detail=row["detail"])
