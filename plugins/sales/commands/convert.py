"""``lead.convert``: a lead becomes a contact, an organization and a deal, in one transaction.

Each part reuses what exists (the lead's contact, a contact with its email, the organization
by domain or name) and creates the rest through the core's own commands, nested in this
command's transaction: if any part fails (a bad value, an unknown currency), nothing is
written. A lead converts once: ``sales_lead_conversions`` has one row per lead (unique).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import kith
from pydantic import Field

from .. import dedupe
from ..jobs import close_contact_task
from ..records import resolve
from ..schemas import ConversionOut
from ..settings import settings_of
from ..tables import LeadConversion
from .leads import lead_out


class LeadConvert(kith.Input):
    lead: kith.Ref
    create_deal: bool = True
    title: str | None = Field(None, max_length=300, description="Deal title (default: company)")
    value: str | int = Field("0", description="Deal value in major units, e.g. '24000.00'")
    currency: str | None = Field(None, description="Default: the forecast's base currency")
    pipeline: kith.Ref | None = None
    stage: kith.Ref | None = None
    expected_close: date | None = None
    owner: kith.Ref | None = Field(None, description="Default: the lead's owner")


async def _already_converted(ctx: kith.Context, lead: dict[str, Any]) -> kith.KithError:
    done = await ctx.find_one(LeadConversion, lead_id=lead["id"])
    into = f" into deal #{done['deal_id']}" if done and done["deal_id"] else ""
    when = f" on {done['at']:%Y-%m-%d}" if done else ""
    return kith.KithError(
        "already_converted",
        f"lead: lead #{lead['id']} ({lead['name']}) was converted{when}{into}; a lead "
        "converts once",
        [kith.FieldError("lead", "is converted already", "already_converted")],
        status=409,
    )


async def _contact(
    ctx: kith.Context, lead: dict[str, Any], org_id: int | None, owner_id: int | None
) -> tuple[dict[str, Any], bool]:
    if lead["contact_id"]:
        return await ctx.get(kith.Contact, lead["contact_id"]), False
    if lead["email"]:
        address = await ctx.find_one(kith.ContactEmail, email=lead["email"])
        if address is not None:
            return await ctx.get(kith.Contact, address["contact_id"]), False
    contact = await ctx.run(
        "contact.create",
        {
            "name": lead["name"],
            "email": lead["email"],
            "phone": lead["phone"],
            "organization": org_id,
            "owner": owner_id,
            "lifecycle_stage": "opportunity",
        },
    )
    return contact.model_dump(), True


async def _organization(
    ctx: kith.Context, lead: dict[str, Any], owner_id: int | None
) -> tuple[dict[str, Any] | None, bool]:
    if lead["organization_id"]:
        return await ctx.get(kith.Organization, lead["organization_id"]), False
    found = await dedupe.find(
        ctx, lead["email"], lead["company"], settings_of(ctx).free_mail_domains
    )
    if found.organization is not None:
        return found.organization, False
    if not (lead["company"] or found.business_domain):
        return None, False
    org = await ctx.run(
        "organization.create",
        {
            "name": lead["company"] or found.business_domain,
            "domain": found.business_domain,
            "owner": owner_id,
        },
    )
    return org.model_dump(), True


@kith.command("lead.convert", input=LeadConvert, output=ConversionOut, permission="leads.write")
async def convert_lead(ctx: kith.Context, data: LeadConvert) -> ConversionOut:
    """Convert a lead into a contact, an organization and a deal (in Qualification, or the
    pipeline and stage given), reusing the ones that exist. A lead converts only once."""
    lead = await resolve(ctx, "lead", kith.Lead, data.lead, for_update=True)
    converted = await ctx.find_one(LeadConversion, lead_id=lead["id"])
    if lead["status"] == "converted" or converted is not None:
        raise await _already_converted(ctx, lead)
    if lead["status"] == "disqualified":
        raise kith.invalid(
            "lead",
            f"lead #{lead['id']} is disqualified ({lead['disqualify_reason']}); "
            "qualify it again first (lead.qualify)",
        )
    owner_id = lead["owner_id"] or ctx.actor.user_id
    if data.owner is not None:
        owner_id = (await resolve(ctx, "user", kith.User, data.owner, field="owner"))["id"]
    org, new_org = await _organization(ctx, lead, owner_id)
    contact, new_contact = await _contact(ctx, lead, org["id"] if org else None, owner_id)
    if org is None and contact["organization_id"]:
        org = await ctx.get(kith.Organization, contact["organization_id"])
    deal = None
    if data.create_deal:
        currency = data.currency or settings_of(ctx).forecast.base_currency
        deal = await ctx.run(
            "deal.create",
            {
                "title": data.title or (org["name"] if org else lead["name"]),
                "value": data.value,
                "currency": currency,
                "pipeline": data.pipeline,
                "stage": data.stage,
                "owner": owner_id,
                "contact": contact["id"],
                "organization": org["id"] if org else None,
                "expected_close": data.expected_close,
            },
        )
    lead, changes = await ctx.update(
        kith.Lead,
        lead,
        {
            "status": "converted",
            "contact_id": contact["id"],
            "organization_id": org["id"] if org else None,
        },
        action="converted",
    )
    await ctx.insert(
        LeadConversion,
        {
            "lead_id": lead["id"],
            "contact_id": contact["id"],
            "organization_id": org["id"] if org else None,
            "deal_id": deal.id if deal else None,
            "at": ctx.now(),
        },
        record_history=False,
    )
    await close_contact_task(ctx, lead["id"], done=True)
    created = [
        *([f"contact {contact['name']} (#{contact['id']})"] if new_contact else []),
        *([f"organization {org['name']} (#{org['id']})"] if org and new_org else []),
        *([f"deal {deal.title} (#{deal.id})"] if deal else []),
    ]
    ctx.emit(
        "lead.converted",
        "lead",
        lead["id"],
        contact_id=contact["id"],
        organization_id=org["id"] if org else None,
        deal_id=deal.id if deal else None,
        changes=changes,
    )
    reused = [
        *([] if new_contact else [f"contact {contact['name']} (#{contact['id']})"]),
        *([f"organization {org['name']} (#{org['id']})"] if org and not new_org else []),
    ]
    message = f"Lead #{lead['id']} converted: created {', '.join(created) or 'nothing'}"
    if reused:
        message += f"; reused {', '.join(reused)}"
    return ConversionOut(
        lead=lead_out(lead),
        contact_id=contact["id"],
        organization_id=org["id"] if org else None,
        deal_id=deal.id if deal else None,
        created=created,
        message=message,
    )
