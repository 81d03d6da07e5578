"""Sequences end to end: a form post enrolls the person through an automation, the first
email reaches the SMTP sink with a working unsubscribe link, a reply by email stops the
sequence; waits, windows, caps and the consent gate."""

from __future__ import annotations

from email.message import EmailMessage

import kith
import pytest
from conftest import CONTACT_FORM, WELCOME, link_in
from kith.testing_email import send_smtp

AUTOMATION = """
name: Welcome new subscribers
when: form.submitted
then:
  - enroll_in_sequence: {sequence: Welcome}
"""


def reply_from(sender: str, to: str, subject: str, in_reply_to: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Re: {subject}"
    message["Message-ID"] = "<reply-1@analytical.example>"
    message["In-Reply-To"] = in_reply_to
    message.set_content("Thanks! Can we talk on Thursday?")
    return bytes(message)


async def test_form_to_sequence_to_reply(
    run_command, run_jobs, http, sink, smtp_port, clock, kith_app
):
    await run_command("form.create", {**CONTACT_FORM, "double_opt_in": False})
    await run_command("sequence.create", WELCOME)
    await run_command("automation.create", {"definition": AUTOMATION, "enabled": True})
    response = await http.post(
        "/f/demo-request",
        data={"name": "Ada Lovelace", "email": "ada@analytical.example", "consent": "newsletter"},
    )
    assert response.status_code == 200
    await kith_app.drain()  # the form's events reach the automation
    await run_jobs()
    (welcome,) = sink.messages
    assert welcome["Subject"] == "Welcome, Ada"
    assert welcome["Reply-To"] == "replies@example.com"
    assert "List-Unsubscribe" in welcome
    contact_id = (await run_command("contact.list", {})).items[0].id
    (enrollment,) = (await run_command("sequence.enrollments", {"contact": contact_id})).items
    assert (enrollment.status, enrollment.step) == ("active", 2)  # sent, then waiting 3 days
    # The unsubscribe link in that first email works (shown, not acted on, by a GET).
    assert (await http.get(link_in(welcome, "unsubscribe"))).status_code == 200
    # The customer replies by email: the reply is on their timeline, the sequence stops.
    code, _ = await send_smtp(
        smtp_port,
        reply_from(
            "ada@analytical.example",
            "replies@example.com",
            welcome["Subject"],
            welcome["Message-ID"],
        ),
        "ada@analytical.example",
        ["replies@example.com"],
    )
    assert code == 250
    await run_jobs()
    (enrollment,) = (await run_command("sequence.enrollments", {"contact": contact_id})).items
    assert (enrollment.status, enrollment.stopped_reason) == ("stopped", "replied")
    timeline = await run_command("contact.timeline", {"contact": contact_id})
    assert any("Thursday" in str(item.model_dump()) for item in timeline.items)
    clock.advance(days=4)
    await run_jobs()
    assert len(sink.messages) == 1  # the second email never goes


async def test_steps_wait_then_email_then_task(run_command, run_jobs, sink, clock):
    contact = await run_command(
        "contact.create", {"name": "Grace Hopper", "email": "grace@navy.example"}
    )
    await run_command(
        "consent.grant", {"contact": contact.id, "purpose": "newsletter", "source": "call"}
    )
    await run_command("sequence.create", WELCOME)
    await run_command("sequence.enroll", {"sequence": "Welcome", "contact": contact.id})
    await run_jobs()
    assert [m["Subject"] for m in sink.messages] == ["Welcome, Grace"]
    clock.advance(days=2)
    await run_jobs()
    assert len(sink.messages) == 1
    clock.advance(days=1, minutes=1)
    await run_jobs()
    assert [m["Subject"] for m in sink.messages][-1] == "How is it going?"
    (enrollment,) = (await run_command("sequence.enrollments", {"contact": contact.id})).items
    assert enrollment.status == "completed"
    tasks = await run_command("task.list", {})
    assert [t.title for t in tasks.items] == ["Call to check in"]


async def test_unsubscribing_stops_the_sequence_and_no_consent_sends_nothing(
    run_command, run_jobs, sink, clock, http, kith_app
):
    contact = await run_command(
        "contact.create", {"name": "Alan Turing", "email": "alan@bletchley.example"}
    )
    await run_command("sequence.create", WELCOME)
    await run_command("sequence.enroll", {"sequence": "Welcome", "contact": contact.id})
    await run_jobs()
    assert sink.messages == []  # never consented: the gate stops the enrollment
    (enrollment,) = (await run_command("sequence.enrollments", {"contact": contact.id})).items
    assert enrollment.status == "stopped" and "no consent" in enrollment.stopped_reason

    await run_command(
        "consent.grant", {"contact": contact.id, "purpose": "newsletter", "source": "call"}
    )
    await run_command("sequence.enroll", {"sequence": "Welcome", "contact": contact.id})
    await run_jobs()
    assert len(sink.messages) == 1
    await http.post(link_in(sink.messages[0], "unsubscribe"))
    await kith_app.drain()
    await run_jobs()
    active = await run_command("sequence.enrollments", {"contact": contact.id, "status": "active"})
    assert active.items == []
    clock.advance(days=4)
    await run_jobs()
    assert len(sink.messages) == 1


async def test_emails_wait_for_the_sending_window(run_command, run_jobs, sink, clock):
    contact = await run_command("contact.create", {"name": "Ada", "email": "ada@example.org"})
    await run_command(
        "consent.grant", {"contact": contact.id, "purpose": "newsletter", "source": "call"}
    )
    await run_command(
        "sequence.create", {**WELCOME, "window_start": 14, "window_end": 16, "time_zone": "UTC"}
    )
    await run_command("sequence.enroll", {"sequence": "Welcome", "contact": contact.id})
    await run_jobs()  # the test clock says 09:00 UTC
    assert sink.messages == []
    clock.advance(hours=5, minutes=1)
    await run_jobs()
    assert len(sink.messages) == 1


async def test_a_template_that_does_not_render_is_refused_at_once(run_command):
    broken = {
        **WELCOME,
        "steps": [{"kind": "email", "subject": "Hi {{ contact.nickname }}", "text": "x"}],
    }
    with pytest.raises(kith.KithError) as err:
        await run_command("sequence.create", broken)
    assert err.value.fields[0].field == "steps.0.subject"
    sneaky = {
        **WELCOME,
        "steps": [{"kind": "email", "subject": "{{ contact.__class__.__mro__ }}", "text": "x"}],
    }
    with pytest.raises(kith.KithError) as err:
        await run_command("sequence.create", sneaky)
    assert err.value.fields[0].field == "steps.0.subject"
