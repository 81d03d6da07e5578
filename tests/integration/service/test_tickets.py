"""Tickets as agents and customers live them: merges, follow-ups, CCs, tags, reopening."""

from __future__ import annotations

from datetime import timedelta

from conftest import named, open_ticket, scheduled, utc


async def test_a_reply_on_a_merged_ticket_goes_to_the_survivor_and_says_so(
    kith_app, desk, run_command, events
):
    survivor = await open_ticket(run_command, subject="Invoices 500")
    loser = await open_ticket(
        run_command, **{"from": "bob@initech.io", "subject": "Invoices broken too"}
    )
    await run_command("ticket.tag", {"ticket": loser.id, "add": ["Billing"]})
    merged = await run_command("ticket.merge", {"survivor": survivor.id, "loser": loser.id})
    assert merged.notice == f"Ticket #{loser.id} was merged into #{survivor.id}."

    answer = await run_command(
        "ticket.reply", {"ticket": loser.id, "body": "Fixed for both of you"}, actor=desk.chloe
    )
    assert answer.ticket.id == survivor.id
    assert answer.notice == (
        f"Ticket #{loser.id} was merged into #{survivor.id}; this went to #{survivor.id}."
    )
    replied = named(events, "ticket.replied")[-1]
    assert replied.entity_id == survivor.id and replied.data["redirected_from"] == loser.id
    assert replied.data["to"] == "jane@initech.io" and replied.data["cc"] == ["bob@initech.io"]

    thread = await run_command("ticket.thread", {"ticket": survivor.id})
    assert thread.merged == [loser.id] and thread.tags == ["billing"]
    assert {"ticket": loser.id, "kind": "merged"} in thread.links
    assert [m.ticket_id for m in thread.messages if m.kind == "customer"] == [survivor.id, loser.id]
    gone = await run_command("ticket.thread", {"ticket": loser.id})
    assert gone.ticket["status"] == "closed" and gone.ticket["merged_into"] == survivor.id
    assert [j["key"] for j in await scheduled(kith_app)] == [f"sla:{survivor.id}"]

    # The customer answering the loser's thread lands on the survivor too.
    mail = await run_command(
        "ticket.customer_message",
        {"ticket": loser.id, "from": "bob@initech.io", "body": "Thanks!"},
    )
    assert mail.ticket.id == survivor.id and "merged into" in mail.notice


async def test_a_message_on_a_closed_ticket_opens_a_linked_follow_up(
    kith_app, desk, run_command, run_jobs, clock
):
    ticket = await open_ticket(run_command)
    await run_command("ticket.set_status", {"ticket": ticket.id, "status": "solved"})
    clock.advance(timedelta(days=4, minutes=1))
    await run_jobs()
    mail = await run_command(
        "ticket.customer_message",
        {"ticket": ticket.id, "from": "jane@initech.io", "body": "It is back!"},
    )
    follow_up = mail.ticket
    assert follow_up.id != ticket.id and follow_up.status == "open"
    assert follow_up.subject == ticket.subject
    assert mail.notice == (
        f"Ticket #{ticket.id} is closed; this message opened follow-up ticket #{follow_up.id}."
    )
    old = await run_command("ticket.thread", {"ticket": ticket.id})
    new = await run_command("ticket.thread", {"ticket": follow_up.id})
    assert old.links == [{"ticket": follow_up.id, "kind": "follow_up"}]
    assert new.links == [{"ticket": ticket.id, "kind": "follow_up_of"}]
    assert old.ticket["status"] == "closed"


async def test_a_customer_message_reopens_a_solved_ticket_and_keeps_it_from_closing(
    kith_app, desk, run_command, run_jobs, clock, events
):
    ticket = await open_ticket(run_command)
    await run_command(
        "ticket.reply", {"ticket": ticket.id, "body": "Done", "status": "solved"}, actor=desk.chloe
    )
    mail = await run_command(
        "ticket.customer_message",
        {"ticket": ticket.id, "from": "jane@initech.io", "body": "Not quite"},
    )
    assert mail.ticket.status == "open"
    assert named(events, "ticket.message_received")[-1].data["reopened"] is True
    clock.advance(days=10)
    await run_jobs()
    thread = await run_command("ticket.thread", {"ticket": ticket.id})
    assert thread.ticket["status"] == "open"  # the auto-close and the rating request were cancelled
    assert named(events, "ticket.csat_requested") == []


async def test_the_same_email_twice_is_recorded_once(kith_app, desk, run_command):
    first = await open_ticket(run_command, message_id="<m1@initech.io>")
    again = await run_command(
        "ticket.customer_message",
        {
            "from": "jane@initech.io",
            "subject": "Invoices",
            "body": "Help",
            "message_id": "<m1@initech.io>",
        },
    )
    assert again.duplicate is True and again.ticket.id == first.id
    thread = await run_command("ticket.thread", {"ticket": first.id})
    assert len(thread.messages) == 1


async def test_internal_comments_stay_internal(kith_app, desk, run_command, events):
    ticket = await open_ticket(run_command)
    await run_command(
        "ticket.comment", {"ticket": ticket.id, "body": "VIP, be quick"}, actor=desk.chloe
    )
    public = await run_command("ticket.thread", {"ticket": ticket.id, "internal": False})
    assert [m.kind for m in public.messages] == ["customer"]
    assert named(events, "ticket.replied") == []


async def test_ccs_and_tags(kith_app, desk, run_command, events):
    ticket = await open_ticket(run_command, cc=["boss@initech.io"])
    cc = await run_command(
        "ticket.cc", {"ticket": ticket.id, "add": ["it@initech.io"], "remove": ["boss@initech.io"]}
    )
    assert cc.items == ["it@initech.io"] and cc.changed
    tags = await run_command("ticket.tag", {"ticket": ticket.id, "add": ["  Invoices ", "bug"]})
    assert tags.items == ["bug", "invoices"]
    again = await run_command("ticket.tag", {"ticket": ticket.id, "add": ["BUG"]})
    assert again.changed is False
    assert named(events, "ticket.tags_changed")[-1].data["after"] == ["bug", "invoices"]


async def test_linking_tickets_shows_on_both(kith_app, desk, run_command):
    a = await open_ticket(run_command, subject="A")
    b = await open_ticket(run_command, subject="B")
    await run_command("ticket.link", {"ticket": a.id, "other": b.id, "kind": "duplicate"})
    assert (await run_command("ticket.thread", {"ticket": b.id})).links == [
        {"ticket": a.id, "kind": "duplicate"}
    ]


async def test_an_archived_ticket_stops_its_sla_and_a_restored_one_resumes(
    kith_app, desk, run_command, run_jobs, clock, events
):
    clock.set(utc(2026, 1, 7, 8, 0))
    ticket = await open_ticket(run_command)
    clock.set(utc(2026, 1, 7, 8, 30))
    await run_command("ticket.archive", {"ticket": ticket.id})
    assert await scheduled(kith_app) == []
    clock.set(utc(2026, 1, 7, 12, 0))
    await run_jobs()
    assert named(events, "ticket.sla_breached") == []
    await run_command("ticket.restore", {"ticket": ticket.id})
    sla = await run_command("ticket.sla", {"ticket": ticket.id})
    assert sla.clocks[0].remaining_minutes == 30 and sla.clocks[0].due_at == utc(2026, 1, 7, 12, 30)
