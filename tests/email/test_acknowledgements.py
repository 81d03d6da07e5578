"""A ticket opened by mail is acknowledged from templates (text and HTML), marked as an
automatic reply, and one address gets only so many acknowledgements an hour."""

from __future__ import annotations

from pathlib import Path

import pytest
from kith.settings import PluginsFile
from test_smtp_flow import mail, tickets


async def history_actions(kith_app, ticket_id: int) -> list[str]:
    rows = await kith_app.db.fetch(
        'SELECT "action" FROM "history" WHERE "entity" = \'ticket\' ORDER BY "id"'
    )
    return [r["action"] for r in rows]


async def test_a_new_ticket_is_acknowledged_in_text_and_html(kith_app, deliver, run_jobs, sink):
    subject = "Export <b>broken</b> & slow"
    await deliver(mail(subject, "Help", sender="Ada Lovelace <ada@customer.org>",
                       Message_ID="<a1@customer.org>"))  # fmt: skip
    await run_jobs()
    (ticket,) = await tickets(kith_app)
    (ack,) = sink.messages
    assert ack["Subject"] == f"{subject} [#{ticket['id']}]"
    assert ack["Auto-Submitted"] == "auto-replied"  # RFC 3834: other robots do not answer
    assert ack["In-Reply-To"] == "<a1@customer.org>"
    assert ack["Reply-To"] == "support@example.com"
    text = ack.get_body(("plain",)).get_content()
    assert "Hello Ada Lovelace" in text and f"opened ticket [#{ticket['id']}]" in text
    html = ack.get_body(("html",)).get_content()
    assert "Export &lt;b&gt;broken&lt;/b&gt; &amp; slow" in html  # escaped, never markup
    # the acknowledgement is no first response: the SLA clock still runs
    got = await kith_app.run("ticket.get", {"ticket": ticket["id"]}, kith_system())
    assert got.status == "new"


def kith_system():
    import kith

    return kith.SYSTEM


async def test_one_address_gets_at_most_three_acknowledgements_an_hour(
    kith_app, deliver, run_jobs, sink, clock
):
    for i in range(5):
        await deliver(mail(f"Out of office {i}", "I am away", Message_ID=f"<l{i}@customer.org>"))
        await run_jobs()
    assert len(await tickets(kith_app)) == 5  # every message is kept as a ticket
    assert len(sink.messages) == 3
    assert (await history_actions(kith_app, 0)).count("acknowledgement_skipped") == 2
    clock.advance(minutes=61)
    await deliver(mail("Back again", "Still broken", Message_ID="<l9@customer.org>"))
    await run_jobs()
    assert len(sink.messages) == 4


async def test_robots_and_our_own_addresses_are_never_acknowledged(
    kith_app, deliver, run_jobs, sink
):
    for sender in ("noreply@shop.example", "MAILER-DAEMON@mx.example", "ops@example.com"):
        await deliver(mail("Notice", "x", sender=sender), sender=sender)
    await run_jobs()
    assert sink.messages == []


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "mail-templates"
    folder.mkdir()
    (folder / "ack.txt").write_text("Ticket {{ tag }} is open. Acme Support\n")
    return folder


@pytest.fixture
def kith_plugins_file(kith_plugins_file: PluginsFile, templates: Path, request) -> PluginsFile:
    if "replaced" in request.node.name or "broken" in request.node.name:
        kith_plugins_file.settings["email"]["templates_dir"] = str(templates)
    return kith_plugins_file


async def test_a_replaced_template_is_used_and_the_rest_stay_bundled(
    kith_app, deliver, run_jobs, sink
):
    await deliver(mail("Hi", "x"))
    await run_jobs()
    (ack,) = sink.messages
    assert ack.get_body(("plain",)).get_content().startswith("Ticket [#1] is open. Acme Support")
    assert "opened ticket" in ack.get_body(("html",)).get_content()  # bundled ack.html


async def test_a_broken_template_never_loses_the_ticket(
    kith_app, deliver, run_jobs, sink, templates
):
    (templates / "ack.txt").write_text("Ticket {{ tag }} {{ no_such_value }}\n")
    await deliver(mail("Hi", "x"))
    await run_jobs()
    assert len(await tickets(kith_app)) == 1
    assert sink.messages == []
    assert "acknowledgement_failed" in await history_actions(kith_app, 1)
