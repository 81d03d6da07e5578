"""Ticket mail: acknowledgements of tickets opened by mail, public replies (threaded) and
CSAT requests, each rendered from its templates (:mod:`.templates`)."""

from __future__ import annotations

from typing import Any, Literal

import kith
from pydantic import Field

from . import templates
from .commands import Send, Sent, queue
from .settings import email_settings
from .support import tag_pattern
from .tables import EmailMessage

AUTOMATIC = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}


class TicketMail(kith.Input):
    ticket: int
    to: kith.Email
    cc: list[kith.Email] = Field(default_factory=list, max_length=50)
    subject: str = Field(min_length=1, max_length=500)
    kind: Literal["reply", "ack", "csat"] = Field(
        "reply", description="Which templates: an agent's reply, an acknowledgement, a rating"
    )
    text: str = Field("", max_length=1_000_000, description="The reply's text")
    links: dict[str, str] = Field(default_factory=dict, max_length=10, description="For csat")
    requester_name: str = Field("", max_length=200)
    automatic: bool = Field(False, description="Sent by no person: marked Auto-Submitted")
    in_reply_to: str | None = Field(
        None, max_length=500, description="The Message-ID answered (default: the thread's last)"
    )
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
    rows = [
        r
        for r in await ctx.select(EmailMessage, order_by="id", ticket_id=data.ticket)
        if r["message_id"]
    ]
    thread = [r["message_id"] for r in rows]
    if data.in_reply_to and data.in_reply_to not in thread:
        thread.append(data.in_reply_to)  # the message being answered, not yet filed
    thread = thread[-20:]
    # answer the last message a person wrote, not our own acknowledgement
    people = [r["message_id"] for r in rows if not r["auto_reply_to"]]
    tag = f"[{settings.subject_tag}{data.ticket}]"
    subject = data.subject if tag in data.subject else f"{data.prefix}{data.subject} {tag}"
    if data.kind == "reply" and not data.text.strip():
        raise kith.invalid("text", "a reply needs its text")
    text, html = templates.render(
        settings,
        data.kind,
        {
            "body": data.text,
            "subject": tag_pattern(settings.subject_tag).sub("", data.subject).strip(),
            "tag": tag,
            "links": data.links,
            "requester_name": data.requester_name,
        },
    )
    automatic = data.automatic or data.kind == "ack"
    row = await queue(
        ctx,
        Send(
            to=[data.to],
            cc=data.cc,
            subject=subject[:500],
            text=text,
            html=html,
            ticket=data.ticket,
            reply_to=f"{settings.support_address}@{settings.domain}",
            in_reply_to=data.in_reply_to
            or (people[-1] if people else (thread[-1] if thread else None)),
            references=thread,
            headers=AUTOMATIC if automatic else {},
        ),
    )
    marks = {"handler": f"event:{data.event}"[:50]}
    if automatic:
        marks["auto_reply_to"] = data.to.lower()
    await ctx.update(EmailMessage, row, marks, record_history=False)
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
            "automatic": bool(data.get("acknowledgement")),
            "event": str(event.id),
        }
    elif event.name == "ticket.csat_requested" and data.get("to"):
        payload = {
            "ticket": event.entity_id,
            "to": data["to"],
            "kind": "csat",
            "subject": f"How did we do? {data.get('subject') or ''}".strip(),
            "links": {str(k): str(v) for k, v in (data.get("links") or {}).items()},
            "prefix": "",
            "event": str(event.id),
        }
    else:
        return
    await kith.run("email.ticket_mail", payload, kith.SYSTEM)
