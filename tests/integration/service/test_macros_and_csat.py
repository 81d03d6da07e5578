"""Macros (one action for a routine answer) and CSAT results per agent, team and month."""

from __future__ import annotations

from conftest import named, open_ticket, utc


async def test_a_macro_replies_with_placeholders_and_sets_status_priority_tags_assignee(
    kith_app, desk, run_command, events
):
    await run_command(
        "macro.create",
        {
            "name": "Known outage",
            "body": "Hello {{ requester.first_name }},\n\nTicket #{{ ticket.id }} "
            "({{ ticket.subject }}) is a known outage at {{ organization.name }}.\n"
            "— {{ agent.name }}",
            "actions": {
                "status": "pending",
                "priority": "high",
                "add_tags": ["Outage"],
                "assignee": "me",
            },
        },
    )
    ticket = await open_ticket(run_command)
    preview = await run_command(
        "macro.preview", {"ticket": ticket.id, "macro": "Known outage"}, actor=desk.dan
    )
    applied = await run_command(
        "macro.apply", {"ticket": ticket.id, "macro": "Known outage"}, actor=desk.dan
    )
    assert applied.text == preview.text
    assert applied.text.startswith("Hello Jane,\n\nTicket #1 (Invoices page shows a 500 error)")
    assert applied.text.endswith("at Initech.\n— Dan Brown")
    thread = await run_command("ticket.thread", {"ticket": ticket.id})
    assert thread.ticket["status"] == "pending" and thread.ticket["priority"] == "high"
    assert thread.ticket["assignee_id"] == desk.dan.user_id and thread.tags == ["outage"]
    assert thread.messages[-1].body == applied.text and thread.messages[-1].public
    assert named(events, "ticket.replied")[-1].data["body"] == applied.text
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].state == "met"  # a macro reply by an agent is a response
    history = await kith_app.db.fetch(
        'SELECT "changes" FROM "history" WHERE "action" = \'macro_applied\''
    )
    assert "Known outage" in history[0]["changes"]


async def test_an_internal_macro_comments_and_can_solve(kith_app, desk, run_command):
    await run_command(
        "macro.create",
        {
            "name": "Close as spam",
            "body": "Spam from {{ requester.email }}",
            "public": False,
            "actions": {"status": "solved"},
        },
    )
    ticket = await open_ticket(run_command)
    await run_command(
        "macro.apply", {"ticket": ticket.id, "macro": "Close as spam"}, actor=desk.chloe
    )
    thread = await run_command("ticket.thread", {"ticket": ticket.id})
    assert thread.ticket["status"] == "solved"
    assert [(m.kind, m.public) for m in thread.messages] == [("customer", True), ("comment", False)]
    assert [m.name for m in (await run_command("macro.list", {})).macros] == ["Close as spam"]


async def _rated(run_command, run_jobs, events, actor, rating, subject):
    ticket = await open_ticket(run_command, subject=subject)
    await run_command("ticket.assign", {"ticket": ticket.id, "assignee": actor.user_id})
    await run_command("ticket.set_status", {"ticket": ticket.id, "status": "solved"})
    await run_jobs()
    token = named(events, "ticket.csat_requested")[-1].data["token"]
    shown = await run_command("csat.show", {"token": token})
    assert shown.subject == subject and shown.rating is None
    return await run_command("csat.record", {"token": token, "rating": rating})


async def test_csat_results_per_agent_team_and_month(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(utc(2026, 1, 20, 10, 0))
    await _rated(run_command, run_jobs, events, desk.chloe, "good", "One")
    await _rated(run_command, run_jobs, events, desk.chloe, "bad", "Two")
    clock.set(utc(2026, 2, 3, 10, 0))
    again = await _rated(run_command, run_jobs, events, desk.dan, "bad", "Three")
    # A customer may change their mind with the same link.
    token = named(events, "ticket.csat_requested")[-1].data["token"]
    changed = await run_command(
        "csat.record", {"token": token, "rating": "good", "comment": "ok now"}
    )
    assert (again.rating, changed.rating, changed.comment) == ("bad", "good", "ok now")

    by_agent = await run_command("csat.results", {"by": "agent"})
    assert [(r.label, r.good, r.bad, r.score) for r in by_agent.rows] == [
        ("Chloé Martin", 1, 1, 0.5),
        ("Dan Brown", 1, 0, 1.0),
    ]
    by_month = await run_command("csat.results", {"by": "month"})
    assert [(r.label, r.rated) for r in by_month.rows] == [("2026-01", 2), ("2026-02", 1)]
    by_team = await run_command("csat.results", {"by": "team", "since": "2026-02"})
    assert [(r.label, r.good, r.bad) for r in by_team.rows] == [("Support", 1, 0)]
    assert by_agent.score == round(2 / 3, 4)
