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


async def find(
    ctx: kith.Context, email: str | None, company: str | None, free_mail: list[str]
) -> Found:
    """Look up an open lead and a contact by ``email``, an organization by its domain or
    by ``company``."""
    found = Found()
    if email:
        for lead in await ctx.select(kith.Lead, email=email, order_by="id"):
            if lead["status"] in OPEN_LEAD_STATUSES and lead["archived_at"] is None:
                found.lead = lead
                found.matches.append(
                    Match(
                        entity="lead",
                        id=lead["id"],
                        label=lead["name"],
                        reason=f"an open lead with {email} exists",
                    )
                )
                break
        address = await ctx.find_one(kith.ContactEmail, email=email)
        if address is not None:
            contact = await ctx.get(kith.Contact, address["contact_id"])
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
    domain = domain_of(email)
    if domain and not is_free_mail(domain, free_mail):
        found.business_domain = domain
    org = None
    reason = ""
    if found.contact and found.contact["organization_id"]:
        org = await ctx.get(kith.Organization, found.contact["organization_id"])
        reason = "the contact works there"
    if org is None and found.business_domain:
        org = await ctx.find_one(kith.Organization, domain=found.business_domain)
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
