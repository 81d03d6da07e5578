"""Escalation chains: L1 → L2 → L3 with delays, each step in history and as an event."""

from __future__ import annotations

from conftest import named, open_ticket, utc

CHAIN = [
    {"on": "warning", "actions": [{"type": "notify_slack", "channel": "#support"}]},
    {
        "on": "breach",
        "after": 0,
        "actions": [{"type": "notify_slack", "channel": "#support-escalations"}],
    },
    {
        "on": "breach",
        "after": "30m",
        "actions": [{"type": "assign_lead"}, {"type": "raise_priority"}],
    },
    {"on": "breach", "after": "2h", "actions": [{"type": "email", "to": "manager@kith.example"}]},
]


async def test_a_breached_ticket_escalates_level_by_level(
    kith_app, desk, run_command, run_jobs, clock, events
):
    await run_command("sla_policy.update", {"policy": "Gold", "escalation": CHAIN})
    clock.set(utc(2026, 1, 7, 8, 0))  # 09:00 Paris
    ticket = await open_ticket(run_command)
    assert ticket.assignee_id == desk.chloe.user_id

    clock.set(utc(2026, 1, 7, 8, 45))
    await run_jobs()
    (warned,) = named(events, "ticket.escalated")
    assert warned.data["trigger"] == "warning" and warned.data["slack_channels"] == ["#support"]

    clock.set(utc(2026, 1, 7, 9, 0))  # first response breached
    await run_jobs()
    l1 = named(events, "ticket.escalated")[-1]
    assert (l1.data["level"], l1.data["trigger"]) == (1, "breach")
    assert l1.data["slack_channels"] == ["#support-escalations"]

    clock.set(utc(2026, 1, 7, 9, 29))
    await run_jobs()
    assert len(named(events, "ticket.escalated")) == 2  # L2 not yet
    clock.set(utc(2026, 1, 7, 9, 30))
    await run_jobs()
    l2 = named(events, "ticket.escalated")[-1]
    assert l2.data["level"] == 2
    thread = await run_command("ticket.thread", {"ticket": ticket.id})
    assert thread.ticket["assignee_id"] == desk.ben.user_id  # the team lead
    assert thread.ticket["priority"] == "high"
    assert named(events, "ticket.priority_changed")[-1].data["reason"] == "escalation L2"

    clock.set(utc(2026, 1, 7, 11, 0))  # 2 business hours after the breach
    await run_jobs()
    l3 = named(events, "ticket.escalated")[-1]
    assert l3.data["level"] == 3 and l3.data["email_to"] == ["manager@kith.example"]

    history = await kith_app.db.fetch(
        'SELECT "action", "changes" FROM "history" WHERE "entity" = \'ticket\' '
        'AND "action" = \'escalated\' ORDER BY "id"'
    )
    # The warning chain had run its one step; the resolution clock's warning (high: 4h,
    # warned at 3h = 12:00 Paris) starts a new one.
    assert [(e.data["trigger"], e.data["level"]) for e in named(events, "ticket.escalated")] == [
        ("warning", 1),
        ("breach", 1),
        ("breach", 2),
        ("warning", 1),
        ("breach", 3),
    ]
    assert len(history) == 5
    clock.set(utc(2026, 1, 7, 11, 59))
    await run_jobs()
    assert len(named(events, "ticket.escalated")) == 5  # the breach chain is over
    clock.set(utc(2026, 1, 7, 12, 0))  # resolution (4h, high) breaches: a new chain
    await run_jobs()
    last = named(events, "ticket.escalated")[-1]
    assert (last.data["trigger"], last.data["level"], last.data["metrics"]) == (
        "breach",
        1,
        ["first_response", "resolution"],
    )


async def test_a_reply_stops_the_chain(kith_app, desk, run_command, run_jobs, clock, events):
    await run_command("sla_policy.update", {"policy": "Gold", "escalation": CHAIN[1:]})
    clock.set(utc(2026, 1, 7, 8, 0))
    ticket = await open_ticket(run_command)
    clock.set(utc(2026, 1, 7, 9, 0))
    await run_jobs()
    assert len(named(events, "ticket.escalated")) == 1
    clock.set(utc(2026, 1, 7, 9, 10))
    await run_command("ticket.reply", {"ticket": ticket.id, "body": "Sorry!"}, actor=desk.chloe)
    clock.set(utc(2026, 1, 7, 12, 0))
    await run_jobs()
    assert len(named(events, "ticket.escalated")) == 1
