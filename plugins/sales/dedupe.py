"""Finding what a new lead already is: an open lead, a contact, an organization.

Matching is on the normalised email (the core lower-cases and IDNA-normalises addresses) and
on the organization's domain, except free-mail and ISP domains (:mod:`.freemail`); a company
name matches an organization of exactly that name (case-insensitive) when the domain says
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import kith

from .freemail import domain_of, is_free_mail
from .records import OPEN_LEAD_STATUSES, marks
from .schemas import Match


@dataclass
class Found:
    """What a lead matched; each match says why, so the person sees what happened."""

    lead: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    organization: dict[str, Any] | None = None
    business_domain: str | None = None
    matches: list[Match] = field(default_factory=list)


async def organization_by_name(ctx: kith.Context, name: str) -> dict[str, Any] | None:
    m = marks(ctx, 1)
    rows = await ctx.fetch(
        f'SELECT "id" FROM "organizations" WHERE lower("name") = {m[0]} '  # noqa: S608
        'AND "archived_at" IS NULL ORDER BY "id" LIMIT 2',
        [name.strip().lower()],
    )
    if len(rows) != 1:
        return None
    return await ctx.get(kith.Organization, rows[0]["id"])


async def _lookup(ctx: kith.Context, email: str | None, domain: str | None) -> dict[str, int]:
    """Ids of the open lead and the contact with ``email`` and of the organization with
    ``domain`` — one query, since most leads match nothing."""
    parts: list[str] = []
    params: list[Any] = []
    m = marks(ctx, 3 + len(OPEN_LEAD_STATUSES))
    if email:
        statuses = ", ".join(m[1 : 1 + len(OPEN_LEAD_STATUSES)])
        parts.append(
            f"SELECT 'lead' AS kind, MIN(id) AS id FROM leads WHERE email = {m[0]} "  # noqa: S608
            f"AND status IN ({statuses}) AND archived_at IS NULL"
        )
        params += [email, *OPEN_LEAD_STATUSES]
        n = len(params)
        contact = "SELECT 'contact' AS kind, contact_id AS id FROM contact_emails WHERE email = "
        parts.append(contact + m[n])
        params.append(email)
    if domain:
        n = len(params)
        parts.append(
            f"SELECT 'organization' AS kind, id FROM organizations WHERE domain = {m[n]} "  # noqa: S608
            "AND archived_at IS NULL"
        )
        params.append(domain)
    if not parts:
        return {}
    rows = await ctx.fetch(" UNION ALL ".join(parts), params)
    return {r["kind"]: r["id"] for r in rows if r["id"] is not None}


async def find(
    ctx: kith.Context, email: str | None, company: str | None, free_mail: list[str]
) -> Found:
    """Look up an open lead and a contact by ``email``, an organization by its domain or
    by ``company``."""
    found = Found()
    domain = domain_of(email)
    if domain and not is_free_mail(domain, free_mail):
        found.business_domain = domain
    ids = await _lookup(ctx, email, found.business_domain)
    if "lead" in ids:
        lead = await ctx.get(kith.Lead, ids["lead"])
        found.lead = lead
        found.matches.append(
            Match(
                entity="lead",
                id=lead["id"],
                label=lead["name"],
                reason=f"an open lead with {email} exists",
            )
        )
    if "contact" in ids:
        contact = await ctx.get(kith.Contact, ids["contact"])
        if contact["archived_at"] is None:
            found.contact = contact
            found.matches.append(
                Match(
                    entity="contact",
                    id=contact["id"],
                    label=contact["name"],
                    reason=f"{email} belongs to this contact",
                )
            )
    org = None
    reason = ""
    if found.contact and found.contact["organization_id"]:
        org = await ctx.get(kith.Organization, found.contact["organization_id"])
        reason = "the contact works there"
    if org is None and "organization" in ids:
        org = await ctx.get(kith.Organization, ids["organization"])
        reason = f"its domain is {found.business_domain}"
    if org is None and company:
        org = await organization_by_name(ctx, company)
        reason = f"its name is {company!r}"
    if org is not None and org["archived_at"] is None:
        found.organization = org
        found.matches.append(
            Match(entity="organization", id=org["id"], label=org["name"], reason=reason)
        )
    return found
