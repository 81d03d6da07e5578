"""Wednesday's ticket, start to finish, through commands only (JOURNEYS.md)."""

from __future__ import annotations

from datetime import timedelta

from conftest import WEDNESDAY_0847, named, utc


async def test_wednesday_ticket_from_first_mail_to_rating(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(WEDNESDAY_0847)
    opened = await run_command(
        "ticket.customer_message",
        {
            "from": "jane@initech.io",
            "subject": "Invoices page shows a 500 error",
            "body": "Since this morning the invoices page fails.",
            "message_id": "<a1@initech.io>",
        },
    )
    ticket = opened.ticket
    assert ticket.requester_id == desk.jane.id
    assert ticket.organization_id == desk.org.id
    assert ticket.assignee_id == desk.chloe.user_id  # round-robin: first member
    assert ticket.status == "open"

    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.policy == "Gold"
    assert sla.calendar == "Paris office"
    first = sla.clocks[0]
    # Business hours start at 09:00 Paris (08:00 UTC): one business hour later.
    assert first.metric == "first_response" and first.state == "running"
    assert first.due_at == utc(2026, 1, 7, 9, 0)
    assert first.remaining_minutes == 60

    clock.set(utc(2026, 1, 7, 8, 30))  # 09:30 Paris
    await run_command(
        "ticket.reply",
        {"ticket": f"#{ticket.id}", "body": "Looking into it."},
        actor=desk.chloe,
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].state == "met" and sla.clocks[0].met_at == utc(2026, 1, 7, 8, 30)

    clock.set(utc(2026, 1, 7, 9, 0))
    await run_command(
        "ticket.customer_message",
        {"ticket": ticket.id, "from": "jane@initech.io", "body": "Here is a screenshot."},
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    following = sla.clocks[1]
    assert following.state == "running" and following.due_at == utc(2026, 1, 7, 11, 0)

    clock.set(utc(2026, 1, 7, 10, 0))
    await run_command(
        "ticket.reply",
        {"ticket": ticket.id, "body": "Fixed, can you check?", "status": "pending"},
        actor=desk.chloe,
    )
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert [c.state for c in sla.clocks] == ["met", "met", "paused"]
    resolution = sla.clocks[2]
    assert resolution.due_at is None  # paused while pending
    assert resolution.remaining_minutes == 8 * 60 - 120  # 09:00-11:00 Paris counted

    clock.set(utc(2026, 1, 8, 9, 0))  # Thursday
    await run_command(
        "ticket.customer_message",
        {"ticket": ticket.id, "from": "jane@initech.io", "body": "Works now, thanks!"},
    )
    thread = await run_command("ticket.thread", {"ticket": ticket.id})
    assert thread.ticket["status"] == "open"
    clock.advance(minutes=5)
    await run_command(
        "ticket.set_status", {"ticket": ticket.id, "status": "solved"}, actor=desk.chloe
    )

    assert await run_jobs() >= 1
    requested = named(events, "ticket.csat_requested")
    assert len(requested) == 1 and requested[0].data["to"] == "jane@initech.io"
    link = requested[0].data["links"]["good"]
    token = requested[0].data["token"]
    assert token in link

    rated = await run_command(
        "csat.record", {"token": token, "rating": "good", "comment": "Quick!"}
    )
    assert rated.rating == "good"
    results = await run_command("csat.results", {"by": "agent"})
    assert [(r.label, r.good, r.bad) for r in results.rows] == [("Chloé Martin", 1, 0)]

    clock.advance(timedelta(days=4, minutes=1))
    await run_jobs()
    thread = await run_command("ticket.thread", {"ticket": ticket.id})
    assert thread.ticket["status"] == "closed"
    assert [m.kind for m in thread.messages] == [
        "customer",
        "reply",
        "customer",
        "reply",
        "customer",
    ]
