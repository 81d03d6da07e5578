"""Bad input: each is refused with the field and the reason, and nothing is written."""

from __future__ import annotations

import pytest
from kith import KithError
from kith.testing import count_rows

TABLES = (
    "deals",
    "leads",
    "contacts",
    "organizations",
    "history",
    "outbox_events",
    "jobs",
    "sales_stage_moves",
    "sales_lead_conversions",
    "tasks",
)


@pytest.fixture
async def world(pipeline, run_command):
    await run_command(
        "pipeline.create",
        {"name": "Renewals", "stages": [{"name": "Upcoming"}, {"name": "Churned", "kind": "lost"}]},
    )
    deal = await run_command("deal.create", {"title": "Initech — Pro", "value": "24000"})
    lead = await run_command(
        "lead.capture", {"name": "Jane", "email": "jane@initech.io", "company": "Initech"}
    )
    return {"deal": deal, "lead": lead.lead}


async def snapshot(kith_app) -> dict[str, int]:
    return {t: await count_rows(kith_app, t) for t in TABLES}


async def refused(kith_app, run_command, name, payload, field, code=None) -> KithError:
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command(name, payload)
    err = info.value
    assert err.fields, err
    assert err.fields[0].field == field, err
    assert err.fields[0].message
    if code:
        assert err.code == code
    assert await snapshot(kith_app) == before
    return err


async def test_unknown_pipeline(world, kith_app, run_command):
    err = await refused(
        kith_app,
        run_command,
        "deal.create",
        {"title": "X", "pipeline": "Enterprise"},
        "pipeline",
        "not_found",
    )
    assert "Enterprise" in err.message


async def test_unknown_stage_lists_the_stages(world, kith_app, run_command):
    err = await refused(
        kith_app,
        run_command,
        "deal.move",
        {"deal": world["deal"].id, "stage": "porposal"},
        "stage",
        "not_found",
    )
    assert "Did you mean Proposal?" in err.message and "Sales" in err.message


async def test_a_stage_of_another_pipeline_by_name(world, kith_app, run_command):
    err = await refused(
        kith_app, run_command, "deal.move", {"deal": world["deal"].id, "stage": "Upcoming"}, "stage"
    )
    assert "pipeline Renewals" in err.message


async def test_a_stage_of_another_pipeline_by_id(world, kith_app, run_command):
    renewals = await run_command("pipeline.get", {"pipeline": "Renewals"})
    await refused(
        kith_app,
        run_command,
        "deal.move",
        {"deal": world["deal"].id, "stage": renewals.stages[0].id},
        "stage",
    )


async def test_lost_without_a_reason(world, kith_app, run_command):
    await refused(kith_app, run_command, "deal.lost", {"deal": world["deal"].id}, "reason")


async def test_lost_with_a_reason_that_is_not_configured(world, kith_app, run_command):
    err = await refused(
        kith_app, run_command, "deal.lost", {"deal": world["deal"].id, "reason": "Aliens"}, "reason"
    )
    assert "Competitor" in err.message


async def test_moving_into_lost_without_a_reason(world, kith_app, run_command):
    await refused(
        kith_app, run_command, "deal.move", {"deal": world["deal"].id, "stage": "lost"}, "reason"
    )


@pytest.mark.parametrize("value", ["-5", "twelve", "12.345", "NaN"])
async def test_bad_deal_values(world, kith_app, run_command, value):
    await refused(kith_app, run_command, "deal.create", {"title": "X", "value": value}, "value")


async def test_unknown_currency(world, kith_app, run_command):
    await refused(
        kith_app,
        run_command,
        "deal.create",
        {"title": "X", "value": "10", "currency": "EUX"},
        "currency",
    )


async def test_converting_with_a_negative_value_writes_no_contact(world, kith_app, run_command):
    await refused(
        kith_app, run_command, "lead.convert", {"lead": world["lead"].id, "value": "-1"}, "value"
    )


async def test_converting_with_an_unknown_currency(world, kith_app, run_command):
    await refused(
        kith_app,
        run_command,
        "lead.convert",
        {"lead": world["lead"].id, "value": "10", "currency": "ZZZ"},
        "currency",
    )


async def test_converting_into_an_unknown_stage(world, kith_app, run_command):
    await refused(
        kith_app,
        run_command,
        "lead.convert",
        {"lead": world["lead"].id, "stage": "Nowhere"},
        "stage",
    )


async def test_converting_an_already_converted_lead(world, kith_app, run_command):
    await run_command("lead.convert", {"lead": world["lead"].id})
    await refused(
        kith_app,
        run_command,
        "lead.convert",
        {"lead": world["lead"].id},
        "lead",
        "already_converted",
    )


async def test_qualifying_a_converted_lead(world, kith_app, run_command):
    await run_command("lead.convert", {"lead": world["lead"].id})
    await refused(
        kith_app,
        run_command,
        "lead.qualify",
        {"lead": world["lead"].id},
        "lead",
        "already_converted",
    )


async def test_capture_with_a_bad_email_or_country(world, kith_app, run_command):
    await refused(
        kith_app, run_command, "lead.capture", {"name": "X", "email": "not-an-email"}, "email"
    )
    await refused(
        kith_app, run_command, "lead.capture", {"name": "X", "country": "France"}, "country"
    )


async def test_unknown_field(world, kith_app, run_command):
    await refused(
        kith_app,
        run_command,
        "deal.move",
        {"deal": world["deal"].id, "stage": "demo", "stag": "x"},
        "stag",
    )


async def test_unknown_deal(world, kith_app, run_command):
    await refused(
        kith_app, run_command, "deal.move", {"deal": 999, "stage": "demo"}, "deal", "not_found"
    )
