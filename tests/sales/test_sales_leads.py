"""Leads: capture with dedupe, qualification, conversion into contact + organization + deal."""

from __future__ import annotations

import pytest
from kith import SYSTEM, KithError
from kith.testing import count_rows
from sales_helpers import history_of, named


async def test_a_lead_from_a_company_address_creates_its_organization(run_command, pipeline):
    out = await run_command(
        "lead.capture",
        {"name": "Jane Roe", "email": "Jane@Initech.io", "company": "Initech", "country": "fr"},
    )
    assert out.created and out.lead.email == "jane@initech.io"
    org = await run_command("organization.get", {"organization": out.lead.organization_id})
    assert (org.name, org.domain, org.country) == ("Initech", "initech.io", "FR")
    assert "created organization Initech" in out.message


async def test_a_second_person_of_the_same_company_is_attached_to_it(run_command, pipeline):
    first = await run_command("lead.capture", {"name": "Jane Roe", "email": "jane@initech.io"})
    second = await run_command(
        "lead.capture", {"name": "Bill Lumbergh", "email": "bill@initech.io"}
    )

    assert second.lead.organization_id == first.lead.organization_id
    assert [(m.entity, m.reason) for m in second.matches] == [
        ("organization", "its domain is initech.io")
    ]
    assert "attached to organization" in second.message


async def test_a_gmail_address_is_no_company(run_command, kith_app, pipeline):
    await run_command("lead.capture", {"name": "Ann", "email": "ann@gmail.com"})
    other = await run_command("lead.capture", {"name": "Bob", "email": "bob@gmail.com"})

    assert other.matches == [] and other.lead.organization_id is None
    assert await count_rows(kith_app, "organizations") == 0


async def test_a_free_mail_lead_with_a_company_name_finds_that_company(run_command, pipeline):
    org = await run_command("organization.create", {"name": "Initech", "domain": "initech.io"})
    out = await run_command(
        "lead.capture", {"name": "Peter", "email": "peter@gmail.com", "company": "initech"}
    )
    assert out.lead.organization_id == org.id
    assert out.matches[0].reason == "its name is 'initech'"


@pytest.mark.parametrize("sales_settings", [{"free_mail_domains": ["smallisp.example"]}])
async def test_more_free_mail_domains_come_from_settings(run_command, kith_app, pipeline):
    out = await run_command("lead.capture", {"name": "Ann", "email": "ann@smallisp.example"})
    assert out.lead.organization_id is None


async def test_an_existing_contact_is_attached_and_said_so(run_command, pipeline):
    org = await run_command("organization.create", {"name": "Initech", "domain": "initech.io"})
    contact = await run_command(
        "contact.create", {"name": "Jane Roe", "email": "jane@initech.io", "organization": org.id}
    )
    out = await run_command("lead.capture", {"name": "J. Roe", "email": "JANE@initech.io"})

    assert out.lead.contact_id == contact.id and out.lead.organization_id == org.id
    assert [m.entity for m in out.matches] == ["contact", "organization"]
    assert "attached to contact Jane Roe" in out.message


async def test_the_same_email_twice_is_one_open_lead(run_command, kith_app, events, pipeline):
    first = await run_command("lead.capture", {"name": "Jane", "email": "jane@initech.io"})
    again = await run_command("lead.capture", {"name": "Jane R.", "email": "Jane@INITECH.io"})

    assert again.created is False and again.lead.id == first.lead.id
    assert "already has open lead" in again.message
    assert await count_rows(kith_app, "leads") == 1
    assert len(named(events, "lead.created")) == 1


async def test_qualify_and_disqualify(run_command, events, kith_app, pipeline):
    lead = (await run_command("lead.capture", {"name": "Jane", "email": "j@initech.io"})).lead
    qualified = await run_command("lead.qualify", {"lead": lead.id})
    assert qualified.status == "qualified"
    dis = await run_command("lead.disqualify", {"lead": lead.id, "reason": "No budget this year"})
    assert dis.status == "disqualified" and dis.disqualify_reason == "No budget this year"
    assert [e.name for e in events if e.name.startswith("lead.") and e.name != "lead.assigned"][
        -2:
    ] == ["lead.qualified", "lead.disqualified"]
    actions = [h["action"] for h in await history_of(kith_app, "lead", lead.id)]
    assert actions[-2:] == ["qualified", "disqualified"]


async def test_disqualifying_needs_a_reason(run_command, kith_app, pipeline):
    lead = (await run_command("lead.capture", {"name": "Jane", "email": "j@initech.io"})).lead
    with pytest.raises(KithError) as info:
        await run_command("lead.disqualify", {"lead": lead.id})
    assert info.value.fields[0].field == "reason"


async def test_converting_makes_contact_organization_and_deal(run_command, events, pipeline, ana):
    lead = (
        await run_command(
            "lead.capture",
            {
                "name": "Jane Roe",
                "email": "jane@initech.io",
                "company": "Initech",
                "owner": ana.user_id,
            },
        )
    ).lead
    out = await run_command(
        "lead.convert",
        {"lead": lead.id, "title": "Initech — Pro", "value": "24000", "currency": "EUR"},
    )

    assert out.lead.status == "converted"
    contact = await run_command("contact.get", {"contact": out.contact_id})
    assert contact.email == "jane@initech.io" and contact.organization_id == out.organization_id
    deal = await run_command("deal.get", {"deal": out.deal_id})
    assert (deal.title, deal.value, deal.currency) == ("Initech — Pro", "24000.00", "EUR")
    assert deal.owner_id == ana.user_id and deal.contact_id == contact.id
    stages = {s.id: s.name for s in pipeline.stages}
    assert stages[deal.stage_id] == "Qualification"
    assert [e.data["deal_id"] for e in named(events, "lead.converted")] == [deal.id]
    assert "created contact Jane Roe" in out.message


async def test_converting_twice_is_a_clear_error(run_command, kith_app, pipeline):
    lead = (await run_command("lead.capture", {"name": "Jane", "email": "j@initech.io"})).lead
    first = await run_command("lead.convert", {"lead": lead.id})
    deals = await count_rows(kith_app, "deals")
    with pytest.raises(KithError) as info:
        await run_command("lead.convert", {"lead": lead.id})
    assert info.value.code == "already_converted"
    assert info.value.fields[0].field == "lead"
    assert f"deal #{first.deal_id}" in info.value.message
    assert await count_rows(kith_app, "deals") == deals


async def test_converting_reuses_an_existing_contact(run_command, kith_app, pipeline):
    contact = await run_command("contact.create", {"name": "Jane", "email": "jane@gmail.com"})
    lead = await run_command("lead.create", {"name": "Jane", "email": "jane@gmail.com"})
    out = await run_command("lead.convert", {"lead": lead.id, "create_deal": False})

    assert out.contact_id == contact.id and out.deal_id is None and out.organization_id is None
    assert await count_rows(kith_app, "contacts") == 1
    assert "reused contact Jane" in out.message


async def test_without_routing_rules_the_person_who_captures_keeps_the_lead(
    run_command, pipeline, ana
):
    out = await run_command("lead.capture", {"name": "Jane", "email": "j@initech.io"}, actor=ana)
    assert out.routing.owner_id == ana.user_id
    assert out.routing.rule == "captured by Ana Alves (no routing rule matched)"
    form = await run_command("lead.capture", {"name": "Web", "email": "w@gmail.com"}, actor=SYSTEM)
    assert form.routing.owner_id is None and form.routing.rule == "no routing rule matched"
