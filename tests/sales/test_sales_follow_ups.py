"""Follow-ups: rotting deals, deals without a next step, new leads to contact — all as jobs."""

from __future__ import annotations

import pytest
from sales_helpers import named, rows


async def tasks_of(kith_app, record_type: str, record_id: int):
    marks = kith_app.db.statements.placeholders(2)
    return await rows(
        kith_app,
        f'SELECT * FROM "tasks" WHERE "record_type" = {marks[0]} AND "record_id" = {marks[1]} '
        'ORDER BY "id"',
        [record_type, record_id],
    )


async def scheduled(kith_app, key_part: str):
    return [
        r
        for r in await rows(kith_app, 'SELECT * FROM "jobs" WHERE "status" = \'scheduled\'')
        if key_part in (r["key"] or "")
    ]


async def test_a_deal_left_in_its_stage_rots_and_its_owner_gets_a_task(
    pipeline, run_command, run_jobs, clock, kith_app, events, ana
):
    deal = await run_command("deal.create", {"title": "Initech"}, actor=ana)
    await run_command(
        "task.create", {"title": "Call back", "deal": deal.id, "due": clock.now().isoformat()}
    )
    clock.advance(days=13)
    await run_jobs()
    assert not named(events, "deal.rotting")

    clock.advance(days=1, minutes=1)
    await run_jobs()
    rotting = named(events, "deal.rotting")
    assert [(e.entity_id, e.data["reason"], e.data["stage"]) for e in rotting] == [
        (deal.id, "stale", "Qualification")
    ]
    assert rotting[0].data["days_in_stage"] == 14
    titles = [t["title"] for t in await tasks_of(kith_app, "deal", deal.id)]
    assert "Initech is rotting in Qualification: plan the next step" in titles
    task = next(t for t in await tasks_of(kith_app, "deal", deal.id) if "rotting" in t["title"])
    assert task["assignee_id"] == ana.user_id


async def test_an_activity_keeps_a_deal_fresh(pipeline, run_command, run_jobs, clock, events):
    deal = await run_command("deal.create", {"title": "Initech"})
    await run_command("task.create", {"title": "Demo prep", "deal": deal.id})
    clock.advance(days=10)
    await run_command("activity.log", {"kind": "call", "deal": deal.id, "subject": "Check-in"})
    clock.advance(days=5)
    await run_jobs()
    assert not named(events, "deal.rotting")
    clock.advance(days=10)
    await run_jobs()
    assert len(named(events, "deal.rotting")) == 1


async def test_moving_the_deal_restarts_the_clock_and_closing_stops_it(
    pipeline, run_command, run_jobs, clock, events, kith_app
):
    deal = await run_command("deal.create", {"title": "Initech"})
    await run_command("task.create", {"title": "Next", "deal": deal.id})
    clock.advance(days=10)
    await run_command("deal.move", {"deal": deal.id, "stage": "negotiation"})  # 21 rotting days
    clock.advance(days=15)
    await run_jobs()
    assert not named(events, "deal.rotting")
    await run_command("deal.won", {"deal": deal.id})
    assert await scheduled(kith_app, f"deal:{deal.id}:") == []
    clock.advance(days=30)
    await run_jobs()
    assert not named(events, "deal.rotting")


async def test_a_deal_without_a_next_step_gets_one(
    pipeline, run_command, run_jobs, clock, kith_app, events
):
    deal = await run_command("deal.create", {"title": "Initech"})
    clock.advance(hours=25)
    await run_jobs()
    nudges = named(events, "deal.rotting")
    assert [e.data["reason"] for e in nudges] == ["no_next_activity"]
    assert [t["title"] for t in await tasks_of(kith_app, "deal", deal.id)] == [
        "Plan the next step for Initech"
    ]


async def test_a_deal_with_an_open_task_needs_no_nudge(
    pipeline, run_command, run_jobs, clock, events
):
    deal = await run_command("deal.create", {"title": "Initech"})
    await run_command("task.create", {"title": "Send the proposal", "deal": deal.id})
    clock.advance(hours=25)
    await run_jobs()
    assert not named(events, "deal.rotting")


async def test_a_new_lead_gets_a_contact_task_due_in_the_owners_time_zone(
    pipeline, run_command, ana, kith_app
):
    out = await run_command(
        "lead.capture",
        {
            "name": "Jane Roe",
            "email": "jane@initech.io",
            "company": "Initech",
            "owner": ana.user_id,
        },
    )
    assert out.routing.contact_due_local == "2026-01-05 14:00 (Europe/Paris)"
    [task] = await tasks_of(kith_app, "lead", out.lead.id)
    assert task["title"] == "Contact Jane Roe (Initech)"
    assert task["assignee_id"] == ana.user_id
    assert len(await scheduled(kith_app, f"lead:{out.lead.id}:contact")) == 1


async def test_an_untouched_lead_is_overdue_when_its_task_is(
    pipeline, run_command, run_jobs, clock, events, ana
):
    out = await run_command(
        "lead.capture", {"name": "Jane", "email": "j@initech.io", "owner": ana.user_id}
    )
    clock.advance(hours=3)
    await run_jobs()
    assert not named(events, "lead.contact_overdue")
    clock.advance(hours=1)
    await run_jobs()
    overdue = named(events, "lead.contact_overdue")
    assert [(e.entity_id, e.data["owner_id"]) for e in overdue] == [(out.lead.id, ana.user_id)]


async def test_a_call_completes_the_contact_task_and_cancels_the_reminder(
    pipeline, run_command, run_jobs, clock, events, kith_app, ana
):
    out = await run_command(
        "lead.capture", {"name": "Jane", "email": "j@initech.io", "owner": ana.user_id}
    )
    clock.advance(hours=1)
    await run_command(
        "activity.log", {"kind": "call", "lead": out.lead.id, "duration": "20m"}, actor=ana
    )
    [task] = await tasks_of(kith_app, "lead", out.lead.id)
    assert task["status"] == "done"
    assert await scheduled(kith_app, f"lead:{out.lead.id}:contact") == []
    clock.advance(hours=5)
    await run_jobs()
    assert not named(events, "lead.contact_overdue")


async def test_a_note_is_not_contact(pipeline, run_command, kith_app, ana):
    out = await run_command(
        "lead.capture", {"name": "Jane", "email": "j@initech.io", "owner": ana.user_id}
    )
    await run_command("activity.log", {"kind": "note", "lead": out.lead.id, "body": "hm"})
    [task] = await tasks_of(kith_app, "lead", out.lead.id)
    assert task["status"] == "open"


async def test_disqualifying_cancels_the_contact_task(pipeline, run_command, kith_app, ana):
    out = await run_command(
        "lead.capture", {"name": "Jane", "email": "j@initech.io", "owner": ana.user_id}
    )
    await run_command("lead.disqualify", {"lead": out.lead.id, "reason": "student"})
    [task] = await tasks_of(kith_app, "lead", out.lead.id)
    assert task["status"] == "cancelled"
    assert await scheduled(kith_app, f"lead:{out.lead.id}:contact") == []


async def test_converting_completes_the_contact_task(pipeline, run_command, kith_app, ana):
    out = await run_command(
        "lead.capture", {"name": "Jane", "email": "j@initech.io", "owner": ana.user_id}
    )
    await run_command("lead.convert", {"lead": out.lead.id})
    [task] = await tasks_of(kith_app, "lead", out.lead.id)
    assert task["status"] == "done"


@pytest.mark.parametrize(
    "sales_settings",
    [{"follow_ups": {"contact_within_hours": None, "next_activity_grace_hours": None}}],
)
async def test_follow_ups_can_be_switched_off(pipeline, run_command, kith_app, ana):
    out = await run_command(
        "lead.capture", {"name": "Jane", "email": "j@initech.io", "owner": ana.user_id}
    )
    assert out.routing.contact_task_id is None
    assert await tasks_of(kith_app, "lead", out.lead.id) == []
