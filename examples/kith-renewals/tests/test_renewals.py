"""The renewals plugin, tested like any third-party plugin: through Kith's commands, with
the test clock and the job runner."""

from __future__ import annotations

from datetime import date

import kith
import pytest


async def setup(run_command, kith_app):
    await kith_app.hooks.init(kith_app)  # what `kith init` does: the health score field
    acme = await run_command("organization.create", {"name": "Acme"})
    await run_command(
        "subscription.create",
        {"organization": acme.id, "plan": "Pro", "amount": "12000", "ends_on": "2026-02-20"},
    )
    await run_command(
        "subscription.create",
        {"organization": acme.id, "plan": "Add-on", "amount": "600", "ends_on": "2026-09-01"},
    )
    return acme


async def test_a_renewal_deal_opens_sixty_days_ahead_by_the_morning_job(
    run_command, run_jobs, clock, kith_app, events
):
    acme = await setup(run_command, kith_app)
    await run_jobs()  # plans the morning job
    clock.advance(hours=22)  # Tuesday 07:00: the 06:00 run has happened
    await run_jobs()
    (deal_event,) = [e for e in events if e.name == "subscription.renewal_opened"]
    deal = await run_command("deal.get", {"deal": deal_event.entity_id})
    assert deal.title == "Renewal: Acme — Pro"
    assert deal.organization_id == acme.id and deal.value == "12000.00"
    pipeline = await run_command("pipeline.get", {"pipeline": deal.pipeline_id})
    assert pipeline.name == "Renewals"
    listed = await run_command("subscription.list", {"ending_within_days": 60})
    assert [(s.plan, s.renewal_deal) for s in listed.items] == [("Pro", deal.id)]
    # Running again opens nothing twice.
    assert (await run_command("renewals.scan", {})).opened == []


async def test_a_low_health_score_flags_the_renewal(run_command, kith_app, events):
    acme = await setup(run_command, kith_app)
    await run_command(
        "organization.update", {"organization": acme.id, "custom": {"health_score": 35}}
    )
    result = await run_command("renewals.scan", {})
    assert len(result.flagged) == 1
    assert any(e.name == "subscription.at_risk" and e.data["health_score"] == 35 for e in events)
    tags = await run_command("tag.list", {"entity": "organization"})
    assert "at-risk" in str(tags.model_dump())


async def test_bad_input_is_named(run_command):
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "subscription.create",
            {"organization": 999, "plan": "Pro", "amount": "1", "ends_on": "2026-02-20"},
        )
    assert err.value.fields[0].field == "organization"
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "subscription.create",
            {
                "organization": 1,
                "plan": "Pro",
                "amount": "-5",
                "ends_on": date(2026, 2, 20).isoformat(),
            },
        )
    assert err.value.fields[0].field == "amount"


def test_the_slack_verb_lists_renewals_ending_soon():
    from kith_renewals.plugin import RENEWALS

    assert RENEWALS.parse(["90"], None).payload == {"ending_within_days": 90}
    assert RENEWALS.parse([], None).payload == {"ending_within_days": 30}
    with pytest.raises(kith.KithError):
        RENEWALS.parse(["soon"], None)
