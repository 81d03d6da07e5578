"""Build and deliver an outbound row: SMTP relay, or the maildir when none is set."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage as Mime
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import aiosmtplib

from .settings import EmailSettings


def build(row: dict[str, Any], settings: EmailSettings) -> Mime:
    msg = Mime()
    msg["From"] = formataddr((settings.outbound_from_name, row["sender"]))
    msg["Subject"] = row["subject"]
    msg["Message-ID"] = row["message_id"]
    msg["Date"] = format_datetime(row["created_at"])
    if row.get("in_reply_to"):
        msg["In-Reply-To"] = row["in_reply_to"]
    if row.get("thread_refs"):
        msg["References"] = row["thread_refs"]
    for name, value in (row.get("headers") or {}).items():
        msg[name] = value
    msg.set_content(row["text"])
    if row.get("html"):
        msg.add_alternative(row["html"], subtype="html")
    return msg


async def deliver(row: dict[str, Any], settings: EmailSettings) -> str:
    """Send ``row``; returns where it went. Raises on failure (the job retries)."""
    msg = build(row, settings)
    if not settings.outbound_host:
        box = mailbox.Maildir(Path(settings.maildir), create=True)
        box.add(msg.as_bytes())
        return "maildir"
    await aiosmtplib.send(
        msg,
        sender=row["sender"],
        recipients=list(row["recipients"]),
        hostname=settings.outbound_host,
        port=settings.outbound_port,
        username=settings.outbound_username,
        password=settings.outbound_password,
        start_tls=settings.outbound_starttls,
        timeout=30,
    )
    return "relay"
