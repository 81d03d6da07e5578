"""Lead scoring: field and event rules, decay, the MQL threshold routing the lead, and the
explanation of a score; bad rules named."""

from __future__ import annotations

import kith
import pytest

RULES = {
    "rules": [
        {"name": "Big company", "filter": {"company": {"contains": "Corp"}}, "points": 20},
        {"name": "Filled a form", "event": "form.submitted", "points": 15},
        {"name": "Logged a call", "event": "activity.logged", "points": 10},
    ],
    "mql_threshold": 40,
    "half_life_days": 10,
}


async def test_points_add_up_to_mql_and_the_lead_is_routed(run_command, events, make_actor):
    await make_actor("agent")  # a salesperson to route to
    await run_command("scoring.configure", RULES)
    lead = await run_command(
        "lead.create", {"name": "Ada", "email": "ada@big.example", "company": "Big Corp"}
    )
    assert (await run_command("lead.get", {"lead": lead.id})).score == 20
    contact = await run_command("contact.create", {"name": "Ada", "email": "ada@big.example"})
    await run_command("lead.update", {"lead": lead.id, "contact": contact.id})
    await run_command("activity.log", {"kind": "call", "subject": "Intro", "contact": contact.id})
    got = await run_command("lead.get", {"lead": lead.id})
    assert got.score == 30 and not any(e.name == "lead.mql" for e in events)
    await run_command("activity.log", {"kind": "call", "subject": "Demo", "contact": contact.id})
    got = await run_command("lead.get", {"lead": lead.id})
    assert got.score == 40 and got.owner_id is not None  # MQL: the sales plugin routed it
    names = [e.name for e in events]
    assert names.index("lead.assigned", names.index("lead.mql")) > names.index("lead.mql")
    (mql,) = [e for e in events if e.name == "lead.mql"]
    assert mql.entity_id == lead.id and mql.data["score"] == 40
    explained = await run_command("scoring.explain", {"lead": lead.id})
    assert explained.field_points == {"Big company": 20}
    assert explained.events == {"Logged a call": 20.0} and explained.mql


async def test_event_points_decay_but_field_points_stay(run_command, run_jobs, clock):
    await run_command("scoring.configure", RULES)
    lead = await run_command("lead.create", {"name": "Bob", "company": "Tiny Corp"})
    contact = await run_command("contact.create", {"name": "Bob"})
    await run_command("lead.update", {"lead": lead.id, "contact": contact.id})
    await run_command("activity.log", {"kind": "call", "subject": "Hi", "contact": contact.id})
    assert (await run_command("lead.get", {"lead": lead.id})).score == 30
    for _ in range(10):  # ten nights: a half-life
        clock.advance(days=1)
        await run_jobs()
    assert (await run_command("lead.get", {"lead": lead.id})).score == 25  # 20 + 10 / 2


async def test_changing_a_lead_rescores_its_fields(run_command):
    await run_command("scoring.configure", RULES)
    lead = await run_command("lead.create", {"name": "Cy", "company": "Small shop"})
    assert (await run_command("lead.get", {"lead": lead.id})).score == 0
    await run_command("lead.update", {"lead": lead.id, "company": "Cy Corp"})
    assert (await run_command("lead.get", {"lead": lead.id})).score == 20


async def test_bad_rules_are_named(run_command):
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "scoring.configure", {"rules": [{"name": "x", "event": "lead.wonn", "points": 1}]}
        )
    assert err.value.fields[0].field == "rules.0.event"
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "scoring.configure", {"rules": [{"name": "x", "filter": {"sise": "big"}, "points": 1}]}
        )
    assert err.value.fields[0].field == "rules.0.filter.sise"
    with pytest.raises(kith.KithError):
        await run_command("scoring.configure", {"rules": [{"name": "x", "points": 1}]})
