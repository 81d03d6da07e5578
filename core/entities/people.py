"""Organizations and contacts (with their email addresses)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from ..context import Context
from ..errors import FieldError, KithError, invalid, not_found
from ..refs import ambiguous, as_id, by_text
from ..tables import Contact, ContactEmail, Organization
from ..visibility import can_see
from ._common import (
    Custom,
    Email,
    Entity,
    Input,
    Name,
    Record,
    Ref,
    crud,
    merge_custom,
    set_fields,
)
from .users import resolve_user

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LifecycleStage = Literal[
    "subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other"
]


def normalise_domain(value: str) -> str:
    """``https://www.Initech.io/about`` → ``initech.io``."""
    d = value.strip().lower()
    d = re.sub(r"^[a-z][a-z0-9+.-]*://", "", d)
    d = d.split("/", 1)[0].split("?", 1)[0].split("@")[-1].split(":", 1)[0].rstrip(".")
    d = d.removeprefix("www.")
    try:
        d = d.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{value!r} is not a domain name") from None
    if not DOMAIN.match(d):
        raise ValueError(f"{value!r} is not a domain name (e.g. initech.io)")
    return d


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", v):
        raise ValueError("use a two-letter ISO 3166 country code, e.g. FR, DE, US")
    return v


class OrganizationCreate(Input):
    name: Name
    domain: str | None = None
    industry: str | None = Field(None, max_length=100)
    size: str | None = Field(None, max_length=50)
    country: str | None = None
    owner: Ref | None = None
    custom: Custom = {}

    _domain = field_validator("domain")(lambda v: normalise_domain(v) if v else None)
    _country = field_validator("country")(_country)


class OrganizationUpdate(OrganizationCreate):
    organization: Ref
    name: Name | None = None  # type: ignore[assignment]
    custom: Custom | None = None  # type: ignore[assignment]


class OrganizationOut(Record):
    name: str
    domain: str | None
    industry: str | None
    size: str | None
    country: str | None
    owner_id: int | None
    custom: dict[str, Any] = {}


async def resolve_organization(
    ctx: Context, ref: Any, field: str = "organization"
) -> dict[str, Any]:
    """An organization by id, domain (``initech.io``) or name."""
    record_id = as_id(ref)
    if record_id is not None:
        return await ctx.get(Organization, record_id, field=field)
    text = str(ref).strip()
    if "." in text and " " not in text:
        try:
            row = await ctx.find_one(Organization, domain=normalise_domain(text))
        except ValueError:
            row = None
        if row is not None:
            return await ctx.get(Organization, row["id"], field=field)  # visibility applies
    rows = await by_text(ctx, Organization, "name", text)
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise ambiguous("organization", text, field, rows, "name")
    raise not_found("organization", text, field)


async def _owner(
    ctx: Context, data: Any, existing: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    if "owner" in data.model_fields_set:
        values["owner_id"] = (
            (await resolve_user(ctx, data.owner, "owner"))["id"] if data.owner is not None else None
        )
    elif existing is None:
        values["owner_id"] = ctx.actor.user_id


async def _prepare_org(ctx: Context, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    fields = ("name", "domain", "industry", "size", "country", "custom")
    values = (
        {k: getattr(data, k) for k in fields} if existing is None else set_fields(data, *fields)
    )
    if existing is not None and "name" in values and values["name"] is None:
        raise invalid("name", "cannot be empty")
    merge_custom(values, existing)
    await _owner(ctx, data, existing, values)
    if values.get("domain"):
        other = await ctx.find_one(Organization, domain=values["domain"])
        if other is not None and (existing is None or other["id"] != existing["id"]):
            raise KithError(
                "conflict",
                f"domain: {values['domain']} already belongs to {other['name']} (#{other['id']})",
                [
                    FieldError(
                        "domain", f"already belongs to organization #{other['id']}", "duplicate"
                    )
                ],
                status=409,
                candidates=[{"id": other["id"], "label": other["name"]}],
            )
    return values


ORGANIZATION = Entity(
    name="organization",
    table=Organization,
    area="organizations",
    create_input=OrganizationCreate,
    update_input=OrganizationUpdate,
    output=OrganizationOut,
    prepare=_prepare_org,
    resolver=resolve_organization,
)


# ---- contacts -----------------------------------------------------------------------------------


class ContactCreate(Input):
    name: Name
    email: Email | None = None
    emails: list[Email] = Field(default_factory=list, max_length=20, description="More addresses")
    phone: str | None = Field(None, max_length=50)
    title: str | None = Field(None, max_length=200)
    organization: Ref | None = None
    owner: Ref | None = None
    lifecycle_stage: LifecycleStage = "subscriber"
    custom: Custom = {}


class ContactUpdate(Input):
    contact: Ref
    name: Name | None = None
    email: Email | None = Field(None, description="Make this the primary address (added if new)")
    add_emails: list[Email] = Field(default_factory=list, max_length=20)
    remove_emails: list[Email] = Field(default_factory=list, max_length=20)
    phone: str | None = Field(None, max_length=50)
    title: str | None = Field(None, max_length=200)
    organization: Ref | None = None
    owner: Ref | None = None
    lifecycle_stage: LifecycleStage | None = None
    custom: Custom | None = None


class EmailAddress(BaseModel):
    email: str
    primary: bool
    undeliverable: bool = False


class ContactOut(Record):
    name: str
    email: str | None
    emails: list[EmailAddress] = []
    phone: str | None
    title: str | None
    organization_id: int | None
    owner_id: int | None
    lifecycle_stage: str
    custom: dict[str, Any] = {}


async def resolve_contact(ctx: Context, ref: Any, field: str = "contact") -> dict[str, Any]:
    """A contact by id, any of their email addresses, or name."""
    record_id = as_id(ref)
    if record_id is not None:
        return await ctx.get(Contact, record_id, field=field)
    text = str(ref).strip()
    if "@" in text:
        hit = await ctx.find_one(ContactEmail, email=text.lower())
        if hit is not None:
            return await ctx.get(Contact, hit["contact_id"], field=field)
    rows = await by_text(ctx, Contact, "name", text)
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise ambiguous("contact", text, field, rows, "name")
    raise not_found("contact", text, field)


async def _check_emails_free(ctx: Context, emails: list[str], contact_id: int | None) -> None:
    for i, address in enumerate(emails):
        hit = await ctx.find_one(ContactEmail, email=address)
        if hit is not None and hit["contact_id"] != contact_id:
            field = "email" if i == 0 else f"emails.{i - 1}"
            owner = await ctx.find_one(Contact, id=hit["contact_id"])
            if owner is None or not await can_see(ctx, "contact", owner):
                # Unique addresses reveal that the contact exists, but nothing more.
                raise KithError(
                    "conflict",
                    f"{field}: {address} already belongs to another contact",
                    [FieldError(field, "already belongs to another contact", "duplicate")],
                    status=409,
                )
            raise KithError(
                "conflict",
                f"{field}: {address} already belongs to {owner['name']} (contact #{owner['id']})",
                [FieldError(field, f"already belongs to contact #{owner['id']}", "duplicate")],
                status=409,
                candidates=[{"id": owner["id"], "label": owner["name"]}],
            )


async def _prepare_contact(
    ctx: Context, data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    fields = ("name", "phone", "title", "lifecycle_stage", "custom")
    values = (
        {k: getattr(data, k) for k in fields} if existing is None else set_fields(data, *fields)
    )
    for key in ("name", "lifecycle_stage"):
        if existing is not None and key in values and values[key] is None:
            raise invalid(key, "cannot be empty")
    merge_custom(values, existing)
    await _owner(ctx, data, existing, values)
    if "organization" in data.model_fields_set:
        org = data.organization
        values["organization_id"] = (
            (await resolve_organization(ctx, org))["id"] if org is not None else None
        )
    if existing is None:
        addresses = list(dict.fromkeys([a for a in [data.email, *data.emails] if a]))
        await _check_emails_free(ctx, addresses, None)
        values["email"] = addresses[0] if addresses else None
    elif data.email is not None:
        await _check_emails_free(ctx, [data.email], existing["id"])
        values["email"] = data.email
    return values


async def _write_emails(
    ctx: Context, row: dict[str, Any], data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    if existing is None:
        addresses = list(dict.fromkeys([a for a in [data.email, *data.emails] if a]))
        for i, address in enumerate(addresses):
            await ctx.insert(
                ContactEmail,
                {"contact_id": row["id"], "email": address, "is_primary": i == 0},
                record_history=False,
            )
        row["emails"] = [
            {"email": a, "primary": i == 0, "undeliverable": False} for i, a in enumerate(addresses)
        ]
        return {}
    if data.email is None and not data.add_emails and not data.remove_emails:
        return {}
    current = await ctx.select(ContactEmail, contact_id=row["id"], order_by="id")
    before = [e["email"] for e in current]
    await _check_emails_free(
        ctx, [*([data.email] if data.email else []), *data.add_emails], row["id"]
    )
    primary = data.email or row.get("email")
    if primary in data.remove_emails:
        raise invalid(
            "remove_emails", f"{primary} is the primary address; make another one primary first"
        )
    have = {e["email"]: e for e in current}
    for address in [*([data.email] if data.email else []), *data.add_emails]:
        if address not in have:
            have[address] = await ctx.insert(
                ContactEmail,
                {"contact_id": row["id"], "email": address, "is_primary": False},
                record_history=False,
            )
    for address in data.remove_emails:
        if address in have:
            await ctx.delete(ContactEmail, have.pop(address)["id"])
    for address, rec in have.items():
        want = address == primary
        if bool(rec["is_primary"]) != want:
            await ctx.update(ContactEmail, rec, {"is_primary": want}, record_history=False)
    after = list(have)
    if sorted(before) == sorted(after):
        return {}
    changes = {"emails": [before, after]}
    return changes


async def _present_contact(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    if "emails" not in row:
        emails = await ctx.select(ContactEmail, contact_id=row["id"], order_by="id")
        row = {
            **row,
            "emails": [
                {
                    "email": e["email"],
                    "primary": bool(e["is_primary"]),
                    "undeliverable": bool(e["undeliverable"]),
                }
                for e in emails
            ],
        }
    return row


async def _present_contacts(ctx: Context, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of contacts with their addresses, in one query."""
    ids = [r["id"] for r in rows]
    by_contact: dict[int, list[dict[str, Any]]] = {}
    if ids:
        from ..db.params import Params

        p = Params(ctx.kith.db.dialect)
        codec = ctx.kith.db.statements.codec(ContactEmail)
        found = await ctx.fetch(
            f'SELECT * FROM "contact_emails" WHERE "contact_id" IN {p.many(ids)} ORDER BY "id"',  # noqa: S608
            p.values,
        )
        for e in map(codec.decode, found):
            by_contact.setdefault(e["contact_id"], []).append(
                {
                    "email": e["email"],
                    "primary": bool(e["is_primary"]),
                    "undeliverable": bool(e["undeliverable"]),
                }
            )
    return [{**r, "emails": by_contact.get(r["id"], [])} for r in rows]


CONTACT = Entity(
    name="contact",
    table=Contact,
    area="contacts",
    create_input=ContactCreate,
    update_input=ContactUpdate,
    output=ContactOut,
    prepare=_prepare_contact,
    after_write=_write_emails,
    present=_present_contact,
    present_many=_present_contacts,
    resolver=resolve_contact,
)

COMMANDS = crud(ORGANIZATION) + crud(CONTACT)
