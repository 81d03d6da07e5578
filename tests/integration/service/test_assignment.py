"""Who gets a ticket: rules, round-robin with availability and caps, under concurrency."""

from __future__ import annotations

import asyncio

from conftest import open_ticket


async def test_round_robin_takes_turns_and_skips_the_unavailable(kith_app, desk, run_command):
    got = [(await open_ticket(run_command, subject=f"T{i}")).assignee_id for i in range(4)]
    assert got == [desk.chloe.user_id, desk.dan.user_id] * 2
    await run_command("agent.set_availability", {"available": False}, actor=desk.dan)
    got = [(await open_ticket(run_command, subject=f"U{i}")).assignee_id for i in range(2)]
    assert got == [desk.chloe.user_id, desk.chloe.user_id]


async def test_the_cap_on_open_tickets_is_honoured_and_history_says_why(
    kith_app, desk, run_command
):
    await run_command("service_team.configure", {"team": "Support", "max_open": 1})
    first = await open_ticket(run_command, subject="A")
    second = await open_ticket(run_command, subject="B")
    third = await open_ticket(run_command, subject="C")
    assert (first.assignee_id, second.assignee_id) == (desk.chloe.user_id, desk.dan.user_id)
    assert third.assignee_id is None and third.team_id == desk.team.id
    await run_command("ticket.set_status", {"ticket": first.id, "status": "solved"})
    again = await run_command("ticket.route", {"ticket": third.id})
    assert again.ticket.assignee_id == desk.chloe.user_id
    history = await kith_app.db.fetch(
        'SELECT "changes" FROM "history" WHERE "action" = \'assigned\' ORDER BY "id"'
    )
    assert "round-robin in Support" in history[-1]["changes"]


async def test_a_rule_on_tags_organization_or_keywords_chooses_and_is_named(
    kith_app, desk, run_command, make_actor
):
    vip = await make_actor("agent", email="vip@kith.example", name="Vera Ip")
    await run_command("team.create", {"name": "VIP desk", "members": [vip.user_id]})
    await run_command(
        "assignment_rule.create",
        {
            "name": "Initech goes to VIP",
            "conditions": {"organizations": ["initech.io"]},
            "team": "VIP desk",
            "position": 1,
        },
    )
    await run_command(
        "assignment_rule.create",
        {
            "name": "Refunds to Dan",
            "conditions": {"subject_keywords": ["refund"]},
            "assignee": "dan@kith.example",
            "position": 2,
        },
    )
    ticket = await open_ticket(run_command)
    assert (ticket.team_id, ticket.assignee_id) == (2, vip.user_id)
    other = await open_ticket(
        run_command, **{"from": "bob@elsewhere.com", "subject": "Refund please"}
    )
    assert other.assignee_id == desk.dan.user_id
    changes = await kith_app.db.fetch(
        'SELECT "changes" FROM "history" WHERE "action" = \'assigned\' ORDER BY "id"'
    )
    assert "rule 'Initech goes to VIP'" in changes[0]["changes"]
    assert "rule 'Refunds to Dan'" in changes[1]["changes"]
    rules = await run_command("assignment_rule.list", {})
    assert [r.name for r in rules.rules] == ["Initech goes to VIP", "Refunds to Dan"]


async def test_a_ticket_made_with_the_core_command_is_routed_after_it(
    kith_app, desk, run_command, events
):
    made = await run_command(
        "ticket.create", {"subject": "Printer on fire", "requester": "new.person@initech.io"}
    )
    thread = await run_command("ticket.thread", {"ticket": made.id})
    assert thread.ticket["assignee_id"] == desk.chloe.user_id
    assert thread.ticket["organization_id"] == desk.org.id  # matched by the email's domain
    sla = await run_command("ticket.sla", {"ticket": made.id})
    assert sla.policy == "Gold"
    again = await run_command("ticket.intake", {"ticket": made.id})
    assert again.changed is False


async def test_concurrent_tickets_never_break_the_cap_or_the_turns(kith_app, desk, run_command):
    await run_command("service_team.configure", {"team": "Support", "max_open": 3})
    results = await asyncio.gather(
        *[open_ticket(run_command, subject=f"Burst {i}") for i in range(8)]
    )
    held = [r.assignee_id for r in results]
    assert held.count(desk.chloe.user_id) == 3
    assert held.count(desk.dan.user_id) == 3
    assert held.count(None) == 2


async def test_assigning_to_a_team_alone_picks_by_round_robin(
    kith_app, desk, run_command, make_actor
):
    eve = await make_actor("agent", email="eve@kith.example", name="Eve Night")
    await run_command("team.create", {"name": "Night shift", "members": [eve.user_id]})
    ticket = await open_ticket(run_command)
    moved = await run_command("ticket.assign", {"ticket": ticket.id, "team": "Night shift"})
    assert (moved.ticket.team_id, moved.ticket.assignee_id) == (2, eve.user_id)
    unassigned = await run_command("ticket.assign", {"ticket": ticket.id, "assignee": None})
    assert unassigned.ticket.assignee_id is None
    queue = await run_command("ticket.queue", {"queue": "unassigned", "team": "Night shift"})
    assert queue.count == 1
