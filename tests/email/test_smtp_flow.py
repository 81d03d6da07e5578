"""Real SMTP in, tickets out, replies threaded back by mail into a real sink."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP
from email_corpus import CHARSETS, message
from kith.channels.email.server import Handler
from kith.testing import count_rows
from kith.testing_email import send_smtp


def mail(subject: str, body: str, sender: str = "ada@customer.org", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


async def tickets(kith_app) -> list[dict]:
    return await kith_app.db.fetch('SELECT "id", "subject", "status" FROM "tickets" ORDER BY "id"')


async def test_mail_opens_a_ticket_and_is_stored_before_250(kith_app, deliver, run_jobs):
    code, _ = await deliver(mail("Printer on fire", "Help!", Message_ID="<m1@customer.org>"))
    assert code == 250
    # stored, not yet parsed: the raw message survives a crash here
    rows = await kith_app.db.fetch('SELECT "status", "raw" FROM "email_messages"')
    assert [r["status"] for r in rows] == ["received"]
    assert "Printer on fire" in rows[0]["raw"]
    assert await count_rows(kith_app, "tickets") == 0
    await run_jobs()
    (ticket,) = await tickets(kith_app)
    assert ticket["subject"] == "Printer on fire"


async def test_duplicate_delivery_records_one_ticket(kith_app, deliver, run_jobs):
    raw = mail("Twice", "Same mail", Message_ID="<dup@customer.org>")
    assert (await deliver(raw))[0] == 250
    assert (await deliver(raw))[0] == 250
    await run_jobs()
    assert len(await tickets(kith_app)) == 1


async def test_every_charset_opens_a_ticket_with_the_exact_subject(kith_app, deliver, run_jobs):
    for charset in CHARSETS:
        assert (await deliver(message(f"charset-{charset}.eml")))[0] == 250
    await run_jobs()
    assert sorted(t["subject"] for t in await tickets(kith_app)) == sorted(CHARSETS.values())


async def test_noise_never_opens_tickets(kith_app, deliver, run_jobs, sink):
    for name in ("autoreply.eml", "loop-bulk.eml", "bounce-dsn.eml"):
        assert (await deliver(message(name)))[0] == 250
    await run_jobs()
    assert await tickets(kith_app) == []
    statuses = await kith_app.db.fetch('SELECT "status" FROM "email_messages"')
    assert {r["status"] for r in statuses} == {"ignored"}
    assert sink.messages == []


async def test_refusals_are_clear_smtp_replies(kith_app, deliver, run_jobs):
    code, text = await deliver(mail("Relay", "x"), to=("someone@elsewhere.test",))
    assert code == 550 and "Relaying denied" in text
    code, text = await deliver(mail("Big", "x" * 300_000))
    assert code == 552
    assert await count_rows(kith_app, "email_messages") == 0


def by_people(sink) -> list:
    """The mail an agent wrote (acknowledgements are marked Auto-Submitted)."""
    return [m for m in sink.messages if m["Auto-Submitted"] is None]


async def test_reply_threads_out_and_the_answer_threads_back(
    kith_app, deliver, run_jobs, sink, admin
):
    await deliver(mail("Cannot log in", "Password reset fails", Message_ID="<q1@customer.org>"))
    await run_jobs()
    (ticket,) = await tickets(kith_app)
    await kith_app.run("ticket.reply", {"ticket": ticket["id"], "body": "Try again now."}, admin)
    await kith_app.drain()
    await run_jobs()
    ack, sent = sink.messages
    assert ack["Auto-Submitted"] == "auto-replied" and f"[#{ticket['id']}]" in ack["Subject"]
    assert sink.envelopes[1]["to"] == ["ada@customer.org"]
    assert f"[#{ticket['id']}]" in sent["Subject"]
    assert sent["In-Reply-To"] == "<q1@customer.org>"
    assert "<q1@customer.org>" in sent["References"]
    assert sent["Reply-To"] == "support@example.com"
    assert sent.get_body(("plain",)).get_content().startswith("Try again now.\r\n\r\n-- ")
    assert "<p>Try again now.</p>" in sent.get_body(("html",)).get_content()
    # the customer answers without the tag: threaded by In-Reply-To
    answer = mail(
        "Re: Cannot log in",
        "Works now, thanks!\n\nOn Mon, Support wrote:\n> Try again now.",
        Message_ID="<q2@customer.org>",
        In_Reply_To=sent["Message-ID"],
        References=f"<q1@customer.org> {sent['Message-ID']}",
    )
    assert (await deliver(answer))[0] == 250
    await run_jobs()
    assert len(await tickets(kith_app)) == 1
    body = await kith_app.db.fetch(
        'SELECT "body" FROM "service_messages" WHERE "kind" = \'customer\' ORDER BY "id"'
    )
    assert [b["body"] for b in body] == ["Password reset fails", "Works now, thanks!"]


async def test_subject_tag_from_a_stranger_opens_a_new_ticket(kith_app, deliver, run_jobs):
    await deliver(mail("Invoice", "Where is it?", Message_ID="<i1@customer.org>"))
    await run_jobs()
    (first,) = await tickets(kith_app)
    tag = f"[#{first['id']}]"
    await deliver(mail(f"Re: Invoice {tag}", "Me too", sender="eve@attacker.org"))
    await deliver(mail(f"Re: Invoice {tag}", "More", sender="bob@customer.org"))
    await run_jobs()
    assert len(await tickets(kith_app)) == 2  # the colleague joins, the stranger does not


async def test_relay_failure_is_retried_until_sent(kith_app, deliver, run_jobs, sink, admin, clock):
    await deliver(mail("Retry", "please", Message_ID="<r1@customer.org>"))
    await run_jobs()
    (ticket,) = await tickets(kith_app)
    sink.fail_next = 1
    await kith_app.run("ticket.reply", {"ticket": ticket["id"], "body": "Answer"}, admin)
    await kith_app.drain()
    await run_jobs()
    assert by_people(sink) == []
    clock.advance(minutes=30)
    await run_jobs()
    assert len(by_people(sink)) == 1


async def test_email_send_for_other_plugins(kith_app, run_jobs, sink, admin):
    out = await kith_app.run(
        "email.send",
        {
            "to": ["lead@customer.org"],
            "subject": "Welcome",
            "text": "Hello",
            "html": "<p>Hello</p>",
            "headers": {"List-Unsubscribe": "<https://example.com/u/1>"},
        },
        admin,
    )
    assert out.status == "queued"
    await run_jobs()
    (sent,) = sink.messages
    assert sent["Message-ID"] == out.message_id
    assert sent["List-Unsubscribe"] == "<https://example.com/u/1>"
    assert sent.get_body(("html",)).get_content().strip() == "<p>Hello</p>"


async def test_too_many_recipients_is_refused(kith_app, smtp_port):
    many = [f"support+{i}@example.com" for i in range(60)]
    code, text = await send_smtp(smtp_port, mail("Many", "x"), "ada@customer.org", many)
    assert code == 452 and "Too many recipients" in text


async def test_sender_over_its_rate_gets_451(kith_app):
    settings = kith_app.plugin_settings("email").model_copy(update={"max_per_sender_minute": 2})
    handler = Handler(kith_app, settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    try:
        codes = []
        for i in range(3):
            raw = mail(f"R{i}", "x")
            codes.append(
                (await send_smtp(port, raw, "ada@customer.org", ["support@example.com"]))[0]
            )
    finally:
        server.close()
    assert codes == [250, 250, 451]
    assert await count_rows(kith_app, "email_messages") == 2


async def test_a_reply_event_delivered_twice_mails_once(
    kith_app, deliver, run_jobs, sink, admin, events
):
    from kith.channels.email import replies

    await deliver(mail("Once", "x", Message_ID="<o1@customer.org>"))
    await run_jobs()
    (ticket,) = await tickets(kith_app)
    await kith_app.run("ticket.reply", {"ticket": ticket["id"], "body": "Only once"}, admin)
    await kith_app.drain()
    await run_jobs()
    (event,) = [e for e in events if e.name == "ticket.replied"]
    await replies.on_event(event)  # at-least-once delivery: the same event again
    await run_jobs()
    assert len(by_people(sink)) == 1
