"""JOURNEYS.md, Monday to Friday, for Ana and Ben — through the sales commands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kith import SYSTEM
from sales_helpers import named, rows


@pytest.fixture
def sales_settings():
    return {"routing": {"team": "EMEA", "strategy": "round_robin"}}


async def test_a_week_of_selling_initech(
    kith_app, pipeline, run_command, make_actor, run_jobs, clock, events
):
    ana = await make_actor(
        "agent", email="ana@staff.example.com", name="Ana", time_zone="Europe/Paris"
    )
    carl = await make_actor("agent", email="carl@staff.example.com", name="Carl")
    ben = await make_actor("manager", email="ben@staff.example.com", name="Ben")
    await run_command(
        "team.create", {"name": "EMEA", "lead": ben.user_id, "members": [carl.user_id, ana.user_id]}
    )
    # Carl is at his capacity: the round-robin passes him by.
    await run_command("routing_member.set", {"user": carl.user_id, "capacity": 0})

    # Monday 09:12 Paris: the demo-request form creates the lead; it is routed to Ana.
    clock.set(datetime(2026, 1, 5, 8, 12, tzinfo=UTC))
    form = await run_command(
        "lead.capture",
        {
            "name": "Jane Roe",
            "email": "jane@initech.io",
            "company": "Initech",
            "source": "demo-request form",
        },
        actor=SYSTEM,
    )
    assert form.routing.owner_id == ana.user_id and form.routing.rule == "team EMEA"
    assert form.routing.contact_due_local == "2026-01-05 13:12 (Europe/Paris)"
    assigned = named(events, "lead.assigned")[-1]
    assert assigned.data["owner_id"] == ana.user_id and assigned.data["lead_name"] == "Jane Roe"
    lead_id = form.lead.id

    # Monday 10:05: Ana calls Jane; the call completes the task; she converts the lead.
    clock.set(datetime(2026, 1, 5, 9, 5, tzinfo=UTC))
    await run_command(
        "activity.log",
        {
            "kind": "call",
            "lead": lead_id,
            "duration": "20m",
            "subject": "Interested in the Pro plan, wants a demo Thursday",
        },
        actor=ana,
    )
    task = (
        await rows(kith_app, f'SELECT * FROM "tasks" WHERE "id" = {form.routing.contact_task_id}')
    )[0]
    assert task["status"] == "done"
    await run_command("lead.qualify", {"lead": "jane"}, actor=ana)
    converted = await run_command(
        "lead.convert",
        {"lead": lead_id, "title": "Initech — Pro", "expected_close": "2026-02-27"},
        actor=ana,
    )
    deal = await run_command("deal.get", {"deal": converted.deal_id})
    assert deal.title == "Initech — Pro" and deal.owner_id == ana.user_id
    assert {s.id: s.name for s in pipeline.stages}[deal.stage_id] == "Qualification"

    # Tuesday 14:30: the proposal email is logged; Ana moves the deal to Proposal.
    clock.set(datetime(2026, 1, 6, 13, 30, tzinfo=UTC))
    await run_command(
        "activity.log",
        {
            "kind": "email",
            "direction": "outbound",
            "subject": "Proposal",
            "contact": converted.contact_id,
            "deal": deal.id,
        },
        actor=ana,
    )
    moved = await run_command("deal.move", {"deal": "initech", "stage": "proposal"}, actor=ana)
    assert moved.stage == "Proposal"
    await run_command(
        "deal.update", {"deal": deal.id, "value": "24000", "currency": "EUR"}, actor=ana
    )

    # Thursday 11:00: after the demo, Negotiation; the weighted forecast moves 60% → 75%.
    clock.set(datetime(2026, 1, 8, 10, 0, tzinfo=UTC))
    before = await run_command("forecast.get", {"owner": "me", "period": "quarter"}, actor=ana)
    ben_tasks = await rows(kith_app, f'SELECT * FROM "tasks" WHERE "assignee_id" = {ben.user_id}')
    seen = len(events)
    await run_command("deal.move", {"deal": deal.id, "stage": "negotiation"}, actor=ana)
    assert [e.name for e in events[seen:]] == ["deal.stage_changed"]
    assert events[-1].data["changes"]["stage"] == ["Proposal", "Negotiation"]
    assert (
        await rows(kith_app, f'SELECT * FROM "tasks" WHERE "assignee_id" = {ben.user_id}')
        == ben_tasks
    )  # Ben gets nothing: no rule asked for it
    after = await run_command("forecast.get", {"owner": "me", "period": "quarter"}, actor=ana)
    assert before.total["weighted"] == "14400.00" and after.total["weighted"] == "18000.00"
    assert after.total["commit"] == "24000.00"

    # Friday 09:00: Ben asks for the team's forecast; the same numbers.
    clock.set(datetime(2026, 1, 9, 8, 0, tzinfo=UTC))
    team = await run_command("forecast.get", {"team": "EMEA", "period": "quarter"}, actor=ben)
    assert [(o["owner"], o["weighted"]) for o in team.by_owner] == [("Ana", "18000.00")]
    await run_jobs()
    assert not named(events, "deal.rotting")  # Ana keeps the deal moving
