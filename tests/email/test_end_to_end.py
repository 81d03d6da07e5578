"""The whole story by mail, and a crash between 250 and parsing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from kith.runtime import Kith
from kith.settings import Settings
from kith.testing_email import send_smtp


def mail(subject: str, body: str, message_id: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "ada@customer.org"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


async def test_ticket_by_mail_reply_answer_solve_and_csat(
    kith_app, deliver, run_jobs, sink, admin, clock
):
    await deliver(mail("Broken export", "The CSV is empty", "<e1@customer.org>"))
    await run_jobs()
    (ticket,) = await kith_app.db.fetch('SELECT "id", "status" FROM "tickets"')
    await kith_app.run(
        "ticket.reply",
        {"ticket": ticket["id"], "body": "Which file?", "status": "pending"},
        admin,
    )
    await kith_app.drain()
    await run_jobs()
    question = sink.messages[-1]
    # the SLA clock waits while the ticket is pending on the customer
    (row,) = await kith_app.db.fetch('SELECT "status" FROM "tickets"')
    assert row["status"] == "pending"
    await deliver(
        mail(
            f"Re: Broken export [#{ticket['id']}]",
            "The March one.",
            "<e2@customer.org>",
            In_Reply_To=question["Message-ID"],
        )
    )
    await run_jobs()
    (row,) = await kith_app.db.fetch('SELECT "status" FROM "tickets"')
    assert row["status"] == "open"  # the answer resumed it
    await kith_app.run(
        "ticket.reply", {"ticket": ticket["id"], "body": "Fixed.", "status": "solved"}, admin
    )
    await kith_app.drain()
    await run_jobs()
    clock.advance(days=2)
    await run_jobs()
    subjects = [m["Subject"] for m in sink.messages]
    assert any(s.startswith("How did we do?") for s in subjects), subjects
    csat = next(m for m in sink.messages if m["Subject"].startswith("How did we do?"))
    assert "rating=good" in csat.get_body(("plain",)).get_content()
    assert "rating=good" in csat.get_body(("html",)).get_content()
    assert all(env["to"] == ["ada@customer.org"] for env in sink.envelopes)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_crash_after_250_loses_nothing(kith_db_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "KITH_DATABASE_URL": kith_db_url,
        "KITH_SMTP_PORT": str(port),
        "KITH_PLUGINS_FILE": str(tmp_path / "none.toml"),
        "KITH_SECRET_KEY": "kith-test-secret-key",
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - our own CLI, killed below
        [str(Path(sys.executable).parent / "kith"), "smtp"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        code, _ = await send_smtp(
            port,
            mail("Crash", "Still here?", "<c1@customer.org>"),
            "ada@customer.org",
            ["support@example.com"],
        )
        assert code == 250
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean shutdown: the parse job never ran
        proc.wait(timeout=10)
    app = Kith(
        Settings(database_url=kith_db_url, plugins_file="/nonexistent", secret_key="k" * 20)
    )  # the real clock, as the killed process used
    await app.start()
    try:
        while await app.jobs.run_due():
            await app.drain()
        tickets = await app.db.fetch('SELECT "subject" FROM "tickets"')
        assert [t["subject"] for t in tickets] == ["Crash"]
    finally:
        await app.stop()
