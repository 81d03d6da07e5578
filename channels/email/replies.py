"""Ticket events → outbound mail: public replies (threaded) and CSAT requests."""

from __future__ import annotations

from typing import Any

import kith
from pydantic import Field

from .commands import Send, Sent, queue
from .settings import email_settings
from .tables import EmailMessage


class TicketMail(kith.Input):
    ticket: int
    to: kith.Email
    cc: list[kith.Email] = Field(default_factory=list, max_length=50)
    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=1_000_000)
    event: str = Field(max_length=100, description="The event's id: mailed once")
    prefix: str = Field("Re: ", max_length=20, description="Put before the subject")


@kith.command("email.ticket_mail", input=TicketMail, output=Sent, permission="email.admin")
async def ticket_mail(ctx: kith.Context, data: TicketMail) -> Sent:
    """Mail a ticket's requester (reply, CSAT request), threaded under the ticket's last
    message, with the subject tag and a reply address that routes answers to the ticket."""
    seen = await ctx.find_one(EmailMessage, handler=f"event:{data.event}"[:50])
    if seen is not None:
        return Sent(id=seen["id"], message_id=seen["message_id"], status=seen["status"])
    settings = email_settings(ctx)
    thread = [
        r["message_id"]
        for r in await ctx.select(EmailMessage, order_by="id", ticket_id=data.ticket)
        if r["message_id"]
    ][-20:]
    tag = f"[{settings.subject_tag}{data.ticket}]"
    subject = data.subject if tag in data.subject else f"{data.prefix}{data.subject} {tag}"
    row = await queue(
        ctx,
        Send(
            to=[data.to],
            cc=data.cc,
            subject=subject[:500],
            text=data.text,
            ticket=data.ticket,
            reply_to=f"{settings.support_address}@{settings.domain}",
            in_reply_to=thread[-1] if thread else None,
            references=thread,
        ),
    )
    await ctx.update(
        EmailMessage, row, {"handler": f"event:{data.event}"[:50]}, record_history=False
    )
    return Sent(id=row["id"], message_id=row["message_id"], status="queued")


async def on_event(event: kith.Event) -> None:
    data: dict[str, Any] = event.data
    if event.name == "ticket.replied" and data.get("to"):
        payload = {
            "ticket": event.entity_id,
            "to": data["to"],
            "cc": data.get("cc") or [],
            "subject": data.get("subject") or f"Ticket #{event.entity_id}",
            "text": data["body"],
            "event": str(event.id),
        }
    elif event.name == "ticket.csat_requested" and data.get("to"):
        links = data.get("links") or {}
        lines = [f"How did we do on ticket #{event.entity_id}?", ""]
        lines += [f"{k.capitalize()}: {v}" for k, v in links.items()]
        payload = {
            "ticket": event.entity_id,
            "to": data["to"],
            "subject": f"How did we do? {data.get('subject') or ''}".strip(),
            "text": "\n".join(lines),
            "prefix": "",
            "event": str(event.id),
        }
    else:
        return
    await kith.run("email.ticket_mail", payload, kith.SYSTEM)
