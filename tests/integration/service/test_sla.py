"""SLA clocks on real tickets: warnings and breaches exactly on time from one job per
ticket, pauses, priority and calendar changes, daylight saving time."""

from __future__ import annotations

from conftest import WEDNESDAY_0847, named, open_ticket, scheduled, utc


async def test_warning_then_breach_fire_on_the_minute_from_one_job(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(WEDNESDAY_0847)
    ticket = await open_ticket(run_command)
    jobs = await scheduled(kith_app)
    # First response (1h from 09:00 Paris): warning at 75% = 09:45 Paris = 08:45 UTC.
    assert len(jobs) == 1 and jobs[0]["key"] == f"sla:{ticket.id}"

    clock.set(utc(2026, 1, 7, 8, 44))
    assert await run_jobs() == 0
    clock.set(utc(2026, 1, 7, 8, 45))
    assert await run_jobs() == 1
    (warning,) = named(events, "ticket.sla_warning")
    assert warning.data["metric"] == "first_response"
    assert warning.data["due_at"] == "2026-01-07T09:00:00+00:00"
    assert warning.data["remaining_minutes"] == 15
    assert len(await scheduled(kith_app)) == 1

    clock.set(utc(2026, 1, 7, 9, 0))
    assert await run_jobs() == 1
    (breach,) = named(events, "ticket.sla_breached")
    assert breach.entity_id == ticket.id and breach.data["metric"] == "first_response"
    # Next moment: the resolution warning (75% of 8 business hours = 15:00 Paris).
    (job,) = await scheduled(kith_app)
    assert job["run_at"] in ("2026-01-07T14:00:00+00:00", utc(2026, 1, 7, 14, 0))

    queue = await run_command("ticket.queue", {"queue": "breached"})
    assert [t.id for t in queue.tickets] == [ticket.id]


async def test_a_first_reply_in_time_means_no_warning_and_no_breach(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(WEDNESDAY_0847)
    ticket = await open_ticket(run_command)
    clock.set(utc(2026, 1, 7, 8, 10))
    await run_command("ticket.reply", {"ticket": ticket.id, "body": "On it"}, actor=desk.chloe)
    clock.set(utc(2026, 1, 7, 9, 30))
    await run_jobs()
    assert named(events, "ticket.sla_breached") == []
    assert named(events, "ticket.sla_warning") == []
    (job,) = await scheduled(kith_app)
    assert job["key"] == f"sla:{ticket.id}"


async def test_an_acknowledgement_or_internal_comment_is_not_a_first_response(
    kith_app, desk, run_command, run_jobs, clock, events, admin
):
    clock.set(WEDNESDAY_0847)
    ticket = await open_ticket(run_command)
    await run_command(
        "ticket.reply",
        {"ticket": ticket.id, "body": "We got your message", "acknowledgement": True},
        actor=desk.chloe,
    )
    await run_command(
        "ticket.comment", {"ticket": ticket.id, "body": "probably the DB"}, actor=desk.chloe
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].state == "running"
    clock.set(utc(2026, 1, 7, 9, 0))
    await run_jobs()
    assert [e.data["metric"] for e in named(events, "ticket.sla_breached")] == ["first_response"]


async def test_pending_pauses_resolution_and_the_breach_moves_by_the_pause(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(utc(2026, 1, 7, 8, 0))  # 09:00 Paris, Wednesday
    ticket = await open_ticket(run_command)
    await run_command("ticket.reply", {"ticket": ticket.id, "body": "Hi"}, actor=desk.chloe)
    clock.set(utc(2026, 1, 7, 10, 0))  # 2 business hours counted
    await run_command(
        "ticket.set_status", {"ticket": ticket.id, "status": "pending"}, actor=desk.chloe
    )
    clock.set(utc(2026, 1, 8, 16, 0))  # a day and a half later: nothing may breach meanwhile
    await run_jobs()
    assert named(events, "ticket.sla_breached") == []
    await open_ticket(run_command, ticket=ticket.id, body="Still broken")
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    resolution = sla.clocks[2]
    assert resolution.state == "running" and resolution.remaining_minutes == 6 * 60
    # Thursday 17:00 Paris + 6h = 1h left Thursday, 5h Friday → Friday 14:00 Paris.
    assert resolution.due_at == utc(2026, 1, 9, 13, 0)


async def test_raising_the_priority_recomputes_from_the_start_and_breaches_at_once(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(utc(2026, 1, 7, 8, 0))
    ticket = await open_ticket(run_command)
    clock.set(utc(2026, 1, 7, 8, 20))
    await run_command(
        "ticket.set_priority", {"ticket": ticket.id, "priority": "urgent"}, actor=desk.chloe
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].target_minutes == 15
    assert sla.clocks[0].due_at == utc(2026, 1, 7, 8, 15)  # already past
    await run_jobs()
    (breach,) = named(events, "ticket.sla_breached")
    assert breach.data["due_at"] == "2026-01-07T08:15:00+00:00"
    # Lowering it again moves the due times back (the breach, announced, stands).
    await run_command(
        "ticket.set_priority", {"ticket": ticket.id, "priority": "low"}, actor=desk.chloe
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].due_at == utc(2026, 1, 7, 12, 0)
    assert sla.clocks[0].breached_at == utc(2026, 1, 7, 8, 15)


async def test_a_new_holiday_reschedules_open_tickets(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(utc(2026, 1, 7, 16, 30))  # Wednesday 17:30 Paris
    ticket = await open_ticket(run_command)
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].due_at == utc(2026, 1, 8, 8, 30)  # 30 min today, 30 min Thursday
    changed = await run_command(
        "calendar.add_holiday", {"calendar": "Paris office", "date": "2026-01-08", "name": "Closed"}
    )
    assert changed.rescheduled == 1
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].due_at == utc(2026, 1, 9, 8, 30)  # Friday instead
    (job,) = await scheduled(kith_app)
    assert job["key"] == f"sla:{ticket.id}"
    clock.set(utc(2026, 1, 8, 9, 0))
    await run_jobs()
    assert named(events, "ticket.sla_breached") == []


async def test_new_hours_reschedule_open_tickets_keeping_time_already_counted(
    kith_app, desk, run_command, clock
):
    clock.set(utc(2026, 1, 7, 8, 0))  # 09:00 Paris
    ticket = await open_ticket(run_command)
    clock.set(utc(2026, 1, 7, 8, 30))
    await run_command(
        "calendar.update", {"calendar": "Paris office", "hours": {"mon-fri": "10:00-18:00"}}
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    # 30 minutes were counted in the old hours; the other 30 start at 10:00 Paris.
    assert sla.clocks[0].due_at == utc(2026, 1, 7, 9, 30)


async def test_due_times_follow_daylight_saving_time(kith_app, desk, run_command, clock):
    clock.set(utc(2026, 3, 27, 15, 0))  # Friday 16:00 Paris (UTC+1); DST starts Sunday
    ticket = await open_ticket(run_command)
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    # Resolution 8h: 2h on Friday, 6h on Monday from 09:00 Paris = 07:00 UTC (UTC+2).
    assert sla.clocks[2].due_at == utc(2026, 3, 30, 13, 0)
    assert sla.time_zone == "Europe/Paris"


async def test_the_breaching_soon_queue_is_a_query_over_due_times(
    kith_app, desk, run_command, clock
):
    clock.set(utc(2026, 1, 7, 8, 0))
    soon = await open_ticket(run_command, subject="Soon")
    clock.set(utc(2026, 1, 7, 8, 30))
    later = await open_ticket(run_command, subject="Later")
    queue = await run_command("ticket.queue", {"queue": "breaching_soon", "within_minutes": 45})
    assert queue.count == 1 and [t.id for t in queue.tickets] == [soon.id]
    assert queue.tickets[0].minutes_to_breach == 30
    queue = await run_command("ticket.queue", {"queue": "breaching_soon", "within_minutes": 90})
    assert [t.id for t in queue.tickets] == [soon.id, later.id]
    counts = await run_command("ticket.queues", {"within_minutes": 45}, actor=desk.chloe)
    assert counts.totals["breaching_soon"] == 1 and counts.totals["open"] == 2
    assert counts.totals["mine"] == 1  # round-robin gave Chloé the first, Dan the second
    mine = await run_command("ticket.queue", {"queue": "mine"}, actor=desk.dan)
    assert [t.id for t in mine.tickets] == [later.id]


async def test_a_queue_page_keeps_the_whole_count_even_past_the_end(
    kith_app, desk, run_command, clock
):
    clock.set(utc(2026, 1, 7, 8, 0))
    opened = [(await open_ticket(run_command, subject=f"Problem {i}")).id for i in range(3)]
    first = await run_command("ticket.queue", {"queue": "open", "limit": 2})
    assert first.count == 3 and [t.id for t in first.tickets] == opened[:2]
    second = await run_command("ticket.queue", {"queue": "open", "limit": 2, "offset": 2})
    assert second.count == 3 and [t.id for t in second.tickets] == opened[2:]
    past = await run_command("ticket.queue", {"queue": "open", "limit": 2, "offset": 10})
    assert past.count == 3 and past.tickets == []
    empty = await run_command("ticket.queue", {"queue": "breached"})
    assert empty.count == 0 and empty.tickets == []


async def test_breaching_soon_leaves_out_tickets_whose_clocks_do_not_run(
    kith_app, desk, run_command, clock
):
    clock.set(utc(2026, 1, 7, 8, 0))  # 09:00 Paris: first responses due at 10:00
    kept, archived, solved, merged, survivor = [
        (await open_ticket(run_command, subject=f"Problem {i}")).id for i in range(5)
    ]
    await run_command("ticket.archive", {"ticket": archived})
    await run_command("ticket.set_status", {"ticket": solved, "status": "solved"})
    await run_command("ticket.merge", {"survivor": survivor, "loser": merged})
    for team in (None, "Support"):
        payload = {"queue": "breaching_soon", "within_minutes": 90}
        if team:
            payload["team"] = team
        queue = await run_command("ticket.queue", payload)
        assert queue.count == 2 and [t.id for t in queue.tickets] == [kept, survivor]
    counts = await run_command("ticket.queues", {"within_minutes": 90})
    assert counts.totals["breaching_soon"] == 2


async def test_policies_and_calendars_are_listed_in_the_order_tickets_try_them(
    desk, run_command, make_actor
):
    listed = await run_command("sla_policy.list", {})
    names = [p.name for p in listed.policies]
    assert names.index("Gold") < names.index("Standard")
    gold = listed.policies[names.index("Gold")]
    assert gold.tier == "gold" and "urgent" in gold.rules["targets"]
    assert [c.name for c in listed.calendars] == ["Paris office"]
    assert listed.calendars[0].time_zone == "Europe/Paris"
    viewer = await make_actor("viewer")
    assert (await run_command("sla_policy.list", {}, actor=viewer)).policies
