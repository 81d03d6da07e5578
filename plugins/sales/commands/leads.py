"""Leads: capture (dedupe + routing + contact task), qualify, disqualify, convert.

``lead.capture`` is the sales entry point for a new lead (forms, Slack, email to leads@):
it runs the dedupe, the routing and the follow-up in the command's own transaction and says
what it matched. The core's ``lead.create`` stays the plain record command (imports, syncs);
a lead created that way is routed right after by ``lead.route`` (see :mod:`..plugin`).
Why a command and not a ``kith_validate`` hook on ``lead.create``: a validate hook runs
before the transaction, so its lookups race concurrent creations and it could neither take
the round-robin pointer's lock nor report what it matched; here everything commits together.
"""

from __future__ import annotations

from typing import Any

import kith
from pydantic import Field, field_validator

from .. import dedupe
from ..jobs import close_contact_task, plan_contact
from ..records import OPEN_LEAD_STATUSES, resolve
from ..routing import Decision, decide, facts_for
from ..schemas import CaptureOut, LeadOut, Routing
from ..settings import settings_of
from ..tables import Assignment


def _country(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError("use a two-letter ISO 3166 country code, e.g. FR, DE, US")
    return code


class LeadCapture(kith.Input):
    name: kith.Name
    email: kith.Email | None = None
    company: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=100)
    score: int = Field(0, ge=-100_000, le=100_000)
    country: str | None = Field(None, description="Two-letter code; for routing and a new org")
    industry: str | None = Field(None, max_length=100)
    size: str | None = Field(None, max_length=50)
    owner: kith.Ref | None = Field(None, description="Give an owner to skip routing")
    custom: dict[str, Any] = Field(default_factory=dict)

    _country = field_validator("country")(_country)


def lead_out(row: Any) -> LeadOut:
    return LeadOut.model_validate(row.model_dump() if hasattr(row, "model_dump") else row)


async def assign(
    ctx: kith.Context,
    lead: dict[str, Any],
    decision: Decision,
    before: int | None = None,
    *,
    contact_task: bool = True,
) -> Routing:
    """Record a routing decision on a lead (whose owner was ``before``): history, assignment
    row, the owner's contact task (unless ``contact_task`` is false), ``lead.assigned``."""
    plan = (
        await plan_contact(ctx, lead, decision.owner_id, decision.time_zone)
        if contact_task
        else None
    )
    await ctx.insert(
        Assignment,
        {
            "lead_id": lead["id"],
            "user_id": decision.owner_id,
            "rule": decision.rule[:200],
            "strategy": decision.strategy,
            "contact_task_id": plan[0] if plan else None,
            "at": ctx.now(),
        },
        record_history=False,
    )
    ctx.record_history(
        "lead",
        lead["id"],
        "routed",
        {"owner_id": [before, decision.owner_id], "routing_rule": [None, decision.rule]},
    )
    routing = Routing(
        owner_id=decision.owner_id,
        rule=decision.rule,
        strategy=decision.strategy,
        contact_task_id=plan[0] if plan else None,
        contact_due=plan[1] if plan else None,
        contact_due_local=plan[2] if plan else None,
    )
    ctx.emit(
        "lead.assigned",
        "lead",
        lead["id"],
        lead_name=lead["name"],
        company=lead.get("company"),
        **routing.model_dump(mode="json"),
    )
    return routing


async def _new_organization(
    ctx: kith.Context, data: LeadCapture, domain: str | None, owner_id: int | None
) -> dict[str, Any]:
    org = await ctx.run(
        "organization.create",
        {
            "name": data.company or domain,
            "domain": domain,
            "country": data.country,
            "industry": data.industry,
            "size": data.size,
            "owner": owner_id,
        },
    )
    return org.model_dump()


@kith.command("lead.capture", input=LeadCapture, output=CaptureOut, permission="leads.write")
async def capture_lead(ctx: kith.Context, data: LeadCapture) -> CaptureOut:
    """Take in a new lead: attach it to the contact and organization it already is (matched
    on the email and the company's domain, never a free-mail domain), refuse a duplicate of an
    open lead, route it to an owner and give them a "Contact …" task. Says what it matched."""
    settings = settings_of(ctx)
    found = await dedupe.find(ctx, data.email, data.company, settings.free_mail_domains)
    if found.lead is not None:
        owner = found.lead["owner_id"]
        return CaptureOut(
            created=False,
            lead=lead_out(found.lead),
            matches=found.matches,
            message=f"{data.email} already has open lead #{found.lead['id']}"
            + (f" (owner #{owner})" if owner else "")
            + ": nothing new was created",
        )
    org = found.organization
    facts = facts_for(
        {**data.model_dump(), "status": "new"},
        org,
        {"country": data.country, "industry": data.industry, "size": data.size},
    )
    if data.owner is not None:
        owner = await resolve(ctx, "user", kith.User, data.owner, field="owner")
        decision = Decision(owner["id"], f"owner given by {ctx.actor.name or ctx.actor.label}")
    else:
        decision = await decide(ctx, settings, facts, org)
        if not decision.matched and ctx.actor.user_id is not None:
            # Nothing to route by: the person who took the lead in keeps it.
            rule = f"captured by {ctx.actor.name or ctx.actor.label} ({decision.rule})"
            decision = Decision(ctx.actor.user_id, rule)
    created: list[str] = []
    if org is None and (found.business_domain or data.company):
        try:
            org = await _new_organization(ctx, data, found.business_domain, decision.owner_id)
            created.append(f"organization {org['name']} (#{org['id']})")
        except kith.KithError as err:
            # Another capture from the same new company committed its organization after
            # our dedupe looked (two form posts at once): attach to it, as dedupe would have.
            taken = err.code == "conflict" and err.fields and err.fields[0].field == "domain"
            if not (taken and err.candidates):
                raise
            org = (
                await ctx.run("organization.get", {"organization": err.candidates[0]["id"]})
            ).model_dump()
    lead = await ctx.run(
        "lead.create",
        {
            "name": data.name,
            "email": data.email,
            "company": data.company or (org["name"] if org else None),
            "phone": data.phone,
            "source": data.source,
            "score": data.score,
            "custom": data.custom,
            "owner": decision.owner_id,
            "contact": found.contact["id"] if found.contact else None,
            "organization": org["id"] if org else None,
        },
    )
    routing = await assign(ctx, lead.model_dump(), decision)
    said = [f"attached to {m.entity} {m.label} (#{m.id}): {m.reason}" for m in found.matches]
    said += [f"created {c}" for c in created]
    who = f"user #{routing.owner_id}" if routing.owner_id else "nobody"
    said.append(f"routed to {who} by {routing.rule}")
    return CaptureOut(
        created=True,
        lead=lead_out(lead),
        matches=found.matches,
        routing=routing,
        message=f"Lead #{lead.id} {data.name}: " + "; ".join(said),
    )


# ---- qualification --------------------------------------------------------------------------


class LeadRef(kith.Input):
    lead: kith.Ref


class LeadDisqualify(kith.Input):
    lead: kith.Ref
    reason: str = Field(min_length=1, max_length=500, description="Why the lead is not a fit")


async def open_lead(ctx: kith.Context, ref: Any, doing: str) -> dict[str, Any]:
    lead = await resolve(ctx, "lead", kith.Lead, ref, for_update=True)
    if lead["status"] == "converted":
        raise kith.KithError(
            "already_converted",
            f"lead: lead #{lead['id']} ({lead['name']}) is converted already; it cannot be {doing}",
            [kith.FieldError("lead", "is converted already", "already_converted")],
            status=409,
        )
    return lead


@kith.command("lead.qualify", input=LeadRef, output=LeadOut, permission="leads.write")
async def qualify_lead(ctx: kith.Context, data: LeadRef) -> LeadOut:
    """Mark a lead qualified (a real opportunity); convert it with lead.convert."""
    lead = await open_lead(ctx, data.lead, "qualified")
    if lead["status"] == "qualified":
        return lead_out(lead)
    lead, changes = await ctx.update(
        kith.Lead, lead, {"status": "qualified", "disqualify_reason": None}, action="qualified"
    )
    ctx.emit("lead.qualified", "lead", lead["id"], changes=changes, owner_id=lead["owner_id"])
    return lead_out(lead)


@kith.command("lead.disqualify", input=LeadDisqualify, output=LeadOut, permission="leads.write")
async def disqualify_lead(ctx: kith.Context, data: LeadDisqualify) -> LeadOut:
    """Mark a lead disqualified, with the reason; its open contact task is cancelled."""
    lead = await open_lead(ctx, data.lead, "disqualified")
    lead, changes = await ctx.update(
        kith.Lead,
        lead,
        {"status": "disqualified", "disqualify_reason": data.reason},
        action="disqualified",
    )
    if changes:
        await close_contact_task(ctx, lead["id"], done=False)
        ctx.emit("lead.disqualified", "lead", lead["id"], reason=data.reason, changes=changes)
    return lead_out(lead)


__all__ = [
    "OPEN_LEAD_STATUSES",
    "assign",
    "capture_lead",
    "disqualify_lead",
    "lead_out",
    "open_lead",
    "qualify_lead",
]
