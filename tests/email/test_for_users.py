"""Email for our own users: log@ (BCC and forwards), leads@, and private command addresses."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from kith.testing import count_rows


def mail(sender: str, to: list[str], subject: str, body: str, msg_id: str, **headers: str):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Message-ID"] = msg_id
    msg["Date"] = "Mon, 23 Nov 2026 09:12:00 +0100"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


@pytest.fixture
def kith_plugins_file(kith_plugins_file):
    """The MTA in front adds Authentication-Results, and Kith trusts them."""
    kith_plugins_file.settings["email"]["trust_auth_results"] = True
    return kith_plugins_file


@pytest.fixture
async def ana(make_actor):
    return await make_actor("agent", email="ana@example.com", name="Ana Souza")


@pytest.fixture
async def initech(run_command, ana):
    org = await run_command("organization.create", {"name": "Initech", "domain": "initech.io"})
    jane = await run_command(
        "contact.create", {"name": "Jane Roe", "email": "jane@initech.io", "organization": org.id}
    )
    await run_command(
        "pipeline.create", {"name": "Sales", "is_default": True, "stages": [{"name": "Demo"}]}
    )
    deal = await run_command(
        "deal.create", {"title": "Initech Pro", "organization": org.id, "owner": ana.user_id}
    )
    return org, jane, deal


async def activities(kith_app) -> list[dict]:
    return await kith_app.db.fetch(
        'SELECT * FROM "activities" WHERE "kind" = \'email\' ORDER BY "id"'
    )


# ---- log@ --------------------------------------------------------------------------------------


async def test_a_bcc_from_gmail_logs_on_the_contact_its_organization_and_open_deal(
    kith_app, deliver, run_jobs, ana, initech
):
    org, jane, deal = initech
    msg = mail("Ana Souza <ana@example.com>", ["Jane Roe <jane@initech.io>"], "Your quote",
               "Hi Jane, the quote is attached.", "<q1@mail.gmail.com>")  # fmt: skip
    await deliver(msg.as_bytes(), sender="ana@example.com", to=["log@example.com"])
    await run_jobs()
    (row,) = await activities(kith_app)
    assert row["contact_id"] == jane.id and row["organization_id"] == org.id
    assert row["deal_id"] == deal.id and row["direction"] == "outbound"
    assert row["subject"] == "Your quote" and row["user_id"] == ana.user_id
    history = await kith_app.db.fetch('SELECT "actor" FROM "history" WHERE "entity" = \'activity\'')
    assert history[0]["actor"] == f"email:log:user:{ana.user_id}"


async def test_an_outlook_forward_logs_the_original_sender_date_and_body(
    kith_app, deliver, run_jobs, ana, initech
):
    body = (
        "FYI, see below.\n\n"
        "________________________________\n"
        "From: Bob Smith <bob@initech.io>\n"
        "Sent: Friday, 20 November 2026 16:05\n"
        "To: Ana Souza <ana@example.com>\n"
        "Subject: Budget for next year\n\n"
        "We have budget for 40 seats.\n"
    )
    msg = mail("ana@example.com", ["log@example.com"], "FW: Budget for next year", body,
               "<f1@outlook.example>")  # fmt: skip
    await deliver(msg.as_bytes(), sender="ana@example.com", to=["log@example.com"])
    await run_jobs()
    (row,) = await activities(kith_app)
    bob = await kith_app.run("contact.get", {"contact": "bob@initech.io"}, ana)
    assert bob.name == "Bob Smith"  # created, since the setting allows
    assert row["contact_id"] == bob.id and row["direction"] == "inbound"
    assert row["subject"] == "Budget for next year"
    assert "40 seats" in row["body"] and "FYI" not in row["body"]


async def test_an_attached_forward_logs_the_original(kith_app, deliver, run_jobs, ana, initech):
    original = mail("Jane Roe <jane@initech.io>", ["ana@example.com"], "Contract question",
                    "Can we pay yearly?", "<o1@initech.io>")  # fmt: skip
    outer = mail("ana@example.com", ["log@example.com"], "Fwd: Contract question", "see attached",
                 "<w1@example.com>")  # fmt: skip
    outer.add_attachment(original)
    await deliver(outer.as_bytes(), sender="ana@example.com", to=["log@example.com"])
    await run_jobs()
    (row,) = await activities(kith_app)
    assert row["contact_id"] == initech[1].id and "pay yearly" in row["body"]
    assert row["subject"] == "Contract question"


async def test_log_mail_from_a_stranger_is_refused_and_logs_nothing(
    kith_app, deliver, run_jobs, ana, initech
):
    msg = mail("eve@evil.example", ["jane@initech.io"], "hello", "spam", "<s1@evil.example>")
    await deliver(msg.as_bytes(), sender="eve@evil.example", to=["log@example.com"])
    await run_jobs()
    assert await activities(kith_app) == []
    (stored,) = await kith_app.db.fetch(
        'SELECT * FROM "email_messages" WHERE "message_id" = \'<s1@evil.example>\''
    )
    assert "refused" in str(stored)


# ---- leads@ ------------------------------------------------------------------------------------


async def test_a_customer_email_forwarded_to_leads_makes_a_lead_from_the_original_sender(
    kith_app, deliver, run_jobs, ana, run_command
):
    body = (
        "Hot one!\n\n---------- Forwarded message ---------\n"
        "From: Grace Hopper <grace@navy.example>\nDate: Mon, 23 Nov 2026 at 08:00\n"
        "Subject: Interested in Kith\nTo: <ana@example.com>\n\nWe need a CRM for 200 people.\n"
    )
    msg = mail("ana@example.com", ["leads@example.com"], "Fwd: Interested in Kith", body,
               "<l1@example.com>")  # fmt: skip
    await deliver(msg.as_bytes(), sender="ana@example.com", to=["leads@example.com"])
    await run_jobs()
    (lead,) = (await run_command("lead.list", {})).items
    assert lead.name == "Grace Hopper" and lead.email == "grace@navy.example"
    assert lead.source == "email forwarded by ana@example.com"


# ---- command addresses -------------------------------------------------------------------------


@pytest.fixture
async def address(kith_app, ana):
    return (await kith_app.run("email.command_address", {}, ana)).address


async def test_a_command_mail_creates_a_lead_and_moves_a_deal_and_answers_the_owner(
    kith_app, deliver, run_jobs, sink, ana, initech, address, run_command
):
    await run_command("stage.create", {"pipeline": "Sales", "name": "Proposal"})
    msg = mail("Ana Souza <ana@example.com>", [address], "lead Ada Lovelace ada@engines.example",
               'deal move "Initech Pro" proposal\n\n-- \nAna', "<c1@example.com>")  # fmt: skip
    await deliver(msg.as_bytes(), sender="ana@example.com", to=[address])
    await run_jobs()
    await kith_app.drain()
    await run_jobs()
    leads = (await run_command("lead.list", {"q": "Lovelace"})).items
    assert len(leads) == 1
    deal = await run_command("deal.get", {"deal": initech[2].id})
    stage = await run_command("stage.get", {"stage": deal.stage_id})
    assert stage.name == "Proposal"
    (answer,) = [m for m in sink.messages if m["Subject"].startswith("Kith:")]
    assert answer["To"] == "ana@example.com"
    assert "lead.capture: #" in answer.get_content() and "deal.move: #" in answer.get_content()


async def test_a_spoofed_command_mail_is_refused_and_nobody_is_answered(
    kith_app, deliver, run_jobs, sink, ana, address
):
    msg = mail("eve@evil.example", [address], "lead Eve eve@evil.example", "", "<x1@evil>")
    await deliver(msg.as_bytes(), sender="eve@evil.example", to=[address])
    spoof = mail("ana@example.com", [address], "lead Eve eve@evil.example", "", "<x2@evil>",
                 Authentication_Results="mx.example.com; dkim=fail; spf=fail")  # fmt: skip
    await deliver(spoof.as_bytes(), sender="ana@example.com", to=[address])
    await run_jobs()
    await kith_app.drain()
    await run_jobs()
    assert await count_rows(kith_app, "leads") == 0
    assert [m for m in sink.messages if m["Subject"].startswith("Kith:")] == []


async def test_a_bad_verb_answers_the_field_error_and_a_rotated_address_stops(
    kith_app, deliver, run_jobs, sink, ana, address
):
    msg = mail("ana@example.com", [address], "task call Jane due someday", "", "<b1@example.com>")
    await deliver(msg.as_bytes(), sender="ana@example.com", to=[address])
    await run_jobs()
    await kith_app.drain()
    await run_jobs()
    (answer,) = [m for m in sink.messages if m["Subject"].startswith("Kith:")]
    assert "due:" in answer.get_content() and "tomorrow 9am" in answer.get_content()

    new = (await kith_app.run("email.rotate_address", {}, ana)).address
    assert new != address
    again = mail("ana@example.com", [address], "lead Ada ada@x.example", "", "<b2@example.com>")
    await deliver(again.as_bytes(), sender="ana@example.com", to=[address])
    await run_jobs()
    assert await count_rows(kith_app, "leads") == 0


async def test_an_autoreply_to_a_command_answer_is_not_answered(
    kith_app, deliver, run_jobs, sink, ana, address
):
    msg = mail("ana@example.com", [address], "Out of office: Kith: your commands",
               "I am away.", "<a1@example.com>", Auto_Submitted="auto-replied")  # fmt: skip
    await deliver(msg.as_bytes(), sender="ana@example.com", to=[address])
    await run_jobs()
    await kith_app.drain()
    await run_jobs()
    assert sink.messages == []


async def _answers(kith_app, run_jobs, sink) -> list:
    await run_jobs()
    await kith_app.drain()
    await run_jobs()
    return [m for m in sink.messages if m["Subject"].startswith("Kith:")]


async def test_a_destructive_verb_waits_for_a_confirmation_reply(
    kith_app, deliver, run_jobs, sink, ana, initech, address, run_command, clock
):
    deal_id = initech[2].id
    await run_command("stage.create", {"pipeline": "Sales", "name": "Won", "kind": "won"})
    won = mail("ana@example.com", [address], 'deal won "Initech Pro"', "", "<w1@example.com>")
    await deliver(won.as_bytes(), sender="ana@example.com", to=[address])
    (asked,) = await _answers(kith_app, run_jobs, sink)
    assert (await run_command("deal.get", {"deal": deal_id})).status == "open"
    assert asked["Reply-To"] == address  # answering the answer reaches the command address
    code = asked.get_content().split("confirm ")[-1].split()[0]
    assert len(code) == 8
    # A wrong code does nothing; the right one runs the command, once.
    wrong = mail("ana@example.com", [address], "Re: Kith", "confirm 00000000", "<w2@example.com>")
    await deliver(wrong.as_bytes(), sender="ana@example.com", to=[address])
    answers = await _answers(kith_app, run_jobs, sink)
    assert "no pending command" in answers[-1].get_content()
    reply = mail("ana@example.com", [address], "Re: Kith: your commands",
                 f"confirm {code}\n\n> deal won ...", "<w3@example.com>")  # fmt: skip
    await deliver(reply.as_bytes(), sender="ana@example.com", to=[address])
    answers = await _answers(kith_app, run_jobs, sink)
    assert (await run_command("deal.get", {"deal": deal_id})).status == "won"
    assert "deal.won: #" in answers[-1].get_content()
    again = mail("ana@example.com", [address], "Re: Kith", f"confirm {code}", "<w4@example.com>")
    await deliver(again.as_bytes(), sender="ana@example.com", to=[address])
    answers = await _answers(kith_app, run_jobs, sink)
    assert "already used" in answers[-1].get_content()


async def test_a_confirmation_code_expires_after_a_day(
    kith_app, deliver, run_jobs, sink, ana, initech, address, run_command, clock
):
    won = mail("ana@example.com", [address], 'deal won "Initech Pro"', "", "<e1@example.com>")
    await deliver(won.as_bytes(), sender="ana@example.com", to=[address])
    (asked,) = await _answers(kith_app, run_jobs, sink)
    code = asked.get_content().split("confirm ")[-1].split()[0]
    clock.advance(hours=25)
    late = mail("ana@example.com", [address], "Re: Kith", f"confirm {code}", "<e2@example.com>")
    await deliver(late.as_bytes(), sender="ana@example.com", to=[address])
    answers = await _answers(kith_app, run_jobs, sink)
    assert "expired" in answers[-1].get_content()
    assert (await run_command("deal.get", {"deal": initech[2].id})).status == "open"


async def test_refusals_are_counted_by_reason(
    kith_app, deliver, run_jobs, ana, address, run_command
):
    for n in range(2):
        spoof = mail("eve@evil.example", [address], "lead Eve e@evil.example", "", f"<r{n}@evil>")
        await deliver(spoof.as_bytes(), sender="eve@evil.example", to=[address])
    await run_jobs()
    counted = await run_command("email.refusals", {"days": 1})
    assert counted.total == 2
    assert counted.by_reason == {"the From is not the address's owner": 2}
