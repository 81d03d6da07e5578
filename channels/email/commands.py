"""``email.receive`` (the SMTP server stores a raw message) and ``email.send`` (queue mail)."""

from __future__ import annotations

import uuid
from typing import Any

import kith
from pydantic import BaseModel, Field

from .settings import email_settings
from .tables import EmailMessage

MAX_RAW = 40 * 1024 * 1024


class Receive(kith.Input):
    raw: str = Field(max_length=MAX_RAW, description="The raw message, bytes as latin-1 text")
    sender: str = Field("", max_length=320, description="The SMTP envelope sender")
    recipients: list[str] = Field(min_length=1, max_length=1000)


class Received(BaseModel):
    id: int


class Send(kith.Input):
    to: list[kith.Email] = Field(min_length=1, max_length=50)
    cc: list[kith.Email] = Field(default_factory=list, max_length=50)
    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=1_000_000)
    html: str | None = Field(None, max_length=2_000_000)
    contact: int | None = Field(None, description="The contact whose timeline shows the mail")
    ticket: int | None = Field(None, description="The ticket whose timeline shows the mail")
    reply_to: str | None = Field(None, max_length=320)
    in_reply_to: str | None = Field(None, max_length=500)
    references: list[str] = Field(default_factory=list, max_length=100)
    headers: dict[str, str] = Field(
        default_factory=dict, max_length=30, description="Extra headers (List-Unsubscribe...)"
    )


class Sent(BaseModel):
    id: int
    message_id: str
    status: str


@kith.command("email.receive", input=Receive, output=Received, permission="email.admin")
async def receive(ctx: kith.Context, data: Receive) -> Received:
    """Store a raw inbound message and schedule its parsing (the SMTP server calls this
    before it answers ``250``, so an accepted message is never lost)."""
    row = await ctx.insert(
        EmailMessage,
        {
            "direction": "in",
            "status": "received",
            "sender": data.sender[:320],
            "recipients": [r.lower() for r in data.recipients],
            "raw": data.raw,
        },
        record_history=False,
    )
    await ctx.schedule("email.parse", {"id": row["id"]}, key=f"email.parse:{row['id']}")
    return Received(id=row["id"])


def new_message_id(domain: str) -> str:
    return f"<kith.{uuid.uuid4().hex}@{domain}>"


async def queue(ctx: kith.Context, data: Send) -> dict[str, Any]:
    """Insert an outbound row and schedule its delivery."""
    for name in data.headers:
        if not name.replace("-", "").isalnum() or "\n" in data.headers[name]:
            raise kith.invalid("headers", f"{name!r} is not a valid header")
    settings = email_settings(ctx)
    message_id = new_message_id(settings.domain)
    row = await ctx.insert(
        EmailMessage,
        {
            "direction": "out",
            "status": "queued",
            "message_id": message_id,
            "in_reply_to": data.in_reply_to,
            "thread_refs": " ".join(data.references),
            "sender": f"{settings.support_address}@{settings.domain}",
            "recipients": [*data.to, *data.cc],
            "subject": data.subject,
            "text": data.text,
            "html": data.html,
            "headers": {
                **data.headers,
                "To": ", ".join(data.to),
                **({"Cc": ", ".join(data.cc)} if data.cc else {}),
                **({"Reply-To": data.reply_to} if data.reply_to else {}),
            },
            "ticket_id": data.ticket,
            "contact_id": data.contact,
        },
        record_history=False,
    )
    await ctx.schedule("email.deliver", {"id": row["id"]}, key=f"email.deliver:{row['id']}")
    return row


@kith.command("email.send", input=Send, output=Sent, permission="email.write")
async def send(ctx: kith.Context, data: Send) -> Sent:
    """Send an email: stored now, delivered by the ``email.deliver`` job (retried with
    backoff). Without a relay (``outbound_host``) it is written to the local maildir."""
    row = await queue(ctx, data)
    return Sent(id=row["id"], message_id=row["message_id"], status="queued")
