"""Hard bounces mark the address undeliverable; every mail shows on the ticket's timeline."""

from __future__ import annotations

from email_corpus import message
from test_smtp_flow import mail


async def test_hard_bounce_marks_the_contact_address_undeliverable(
    kith_app, deliver, run_jobs, admin
):
    contact = await kith_app.run(
        "contact.create", {"name": "Gone", "email": "gone@customer.org"}, admin
    )
    await deliver(message("bounce-dsn.eml"))
    await run_jobs()
    after = await kith_app.run("contact.get", {"contact": contact.id}, admin)
    assert [e.undeliverable for e in after.emails] == [True]
    assert await kith_app.db.fetch('SELECT "id" FROM "tickets"') == []


async def test_mail_in_and_out_on_the_ticket_timeline(kith_app, deliver, run_jobs, admin, sink):
    await deliver(mail("Timeline", "Hello", Message_ID="<t1@customer.org>"))
    await run_jobs()
    (ticket,) = await kith_app.db.fetch('SELECT "id" FROM "tickets"')
    await kith_app.run("ticket.reply", {"ticket": ticket["id"], "body": "Hi"}, admin)
    await kith_app.drain()
    await run_jobs()
    page = await kith_app.run("ticket.timeline", {"ticket": ticket["id"]}, admin)
    emails = [i for i in page.items if i.kind == "email"]
    # newest first: the agent's reply, the acknowledgement, the customer's mail
    assert [i.data["direction"] for i in emails] == ["out", "out", "in"]
    assert emails[2].summary == "Email from ada@customer.org: Timeline"
    assert all(e.data["status"] == "sent" for e in emails[:2])
