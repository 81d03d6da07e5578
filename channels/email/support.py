"""``support@``: mail opens or continues a ticket through the service plugin's
``ticket.customer_message``.

Threading: the subject tag (``[#311]``) when the sender is the ticket's requester or of the
requester's domain; then ``In-Reply-To``/``References`` against Message-IDs we stored or
sent; otherwise a new ticket (a stranger's tagged mail opens a new ticket). Autoreplies,
bulk mail and bounces never open tickets nor get answers; a hard bounce marks the address
undeliverable (flag on the stored message).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import kith

from .settings import email_settings
from .tables import EmailMessage

log = logging.getLogger("kith.email")


def tag_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(r"\[" + re.escape(prefix) + r"(\d{1,12})\]")


async def _requester_email(ctx: kith.Context, ticket_id: int) -> str | None:
    ticket = await ctx.find_one(kith.Ticket, id=ticket_id)
    if ticket is None or ticket.get("requester_id") is None:
        return None
    contact = await ctx.find_one(kith.Contact, id=ticket["requester_id"])
    return ((contact or {}).get("email") or "").lower() or None


async def find_ticket(ctx: kith.Context, message: dict[str, Any]) -> int | None:
    """The ticket a message continues, or ``None`` for a new one."""
    sender = message["sender"]
    match = tag_pattern(email_settings(ctx).subject_tag).search(message["subject"])
    if match:
        ticket_id = int(match.group(1))
        requester = await _requester_email(ctx, ticket_id)
        if requester and (
            requester == sender or requester.rsplit("@", 1)[-1] == sender.rsplit("@", 1)[-1]
        ):
            return ticket_id
    for ref in [message.get("in_reply_to"), *reversed(message.get("references") or [])]:
        if not ref:
            continue
        known = await ctx.find_one(EmailMessage, message_id=ref)
        if known is not None and known["ticket_id"] is not None:
            return int(known["ticket_id"])
    return None


NEVER_ACKNOWLEDGED = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|notifications?)([+.@-]|$)",
    re.IGNORECASE,
)
HOUR_S = 3600


async def acknowledge(
    ctx: kith.Context, message: dict[str, Any], ticket_id: int, subject: str
) -> bool:
    """Tell the sender their ticket is open (``ack.txt``/``ack.html``), unless acks are off,
    the address is a robot's, or it already had ``autoreplies_per_sender_hour`` of them in
    the last hour — two autoresponders answering each other stop here. The mail is queued
    in this transaction: the ticket and its acknowledgement commit together."""
    settings = email_settings(ctx)
    sender = str(message["sender"]).lower()
    limit = settings.autoreplies_per_sender_hour
    if not settings.acknowledge_new_tickets or limit == 0 or NEVER_ACKNOWLEDGED.match(sender):
        return False
    if sender.rsplit("@", 1)[-1] == settings.domain.lower():
        return False  # our own address: never a customer
    recent = await ctx.select(
        EmailMessage, order_by="id", descending=True, limit=limit, auto_reply_to=sender
    )
    now = ctx.now()
    if len(recent) >= limit and (now - recent[-1]["created_at"]).total_seconds() < HOUR_S:
        ctx.record_history("ticket", ticket_id, "acknowledgement_skipped", {})
        return False
    try:
        await ctx.run(
            "email.ticket_mail",
            {
                "ticket": ticket_id,
                "to": sender,
                "kind": "ack",
                "subject": subject,
                "requester_name": message.get("sender_name") or "",
                "prefix": "",
                "in_reply_to": message.get("message_id"),
                "event": f"ack:{message.get('row') or ticket_id}",
            },
        )
    except kith.KithError as err:  # a broken replacement template: the ticket still opens
        if err.status >= 500:
            raise
        log.error("acknowledgement of ticket #%s not sent: %s", ticket_id, err)
        ctx.record_history("ticket", ticket_id, "acknowledgement_failed", {})
        return False
    return True


async def handle(ctx: kith.Context, message: dict[str, Any]) -> dict[str, Any]:
    """Record the message on its ticket (or a new one)."""
    flags = message["flags"]
    if "bounce" in flags:
        for failed in message.get("bounced") or []:
            try:
                await ctx.run("email.bounce", failed)
            except kith.KithError:
                continue  # not an address we could know
        return {"status": "ignored"}
    if "autoreply" in flags or "autoreply" in flags or "bulk" in flags:
        return {"status": "ignored"}
    if not message["sender"]:
        return {"status": "ignored"}
    ticket = await find_ticket(ctx, message)
    subject = tag_pattern(email_settings(ctx).subject_tag).sub("", message["subject"]).strip()
    payload: dict[str, Any] = {
        "from": message["sender"],
        "body": (message["body"] or message["text"] or "(no text)")[:100_000],
        "subject": (subject or "(no subject)")[:500],
        "cc": [c for c in message["cc"] if not c.endswith("@" + email_settings(ctx).domain)][:50],
        "message_id": message["message_id"],
        "channel": "email",
    }
    if ticket is not None:
        payload["ticket"] = ticket
    try:
        result = await ctx.run("ticket.customer_message", payload)
    except kith.KithError as err:
        if err.status >= 500:
            raise
        return {"status": "rejected", "error": f"{err.code}: {err}"[:2000]}
    if result.ticket.id != ticket:  # a new ticket (or a closed one's follow-up)
        await acknowledge(ctx, message, result.ticket.id, result.ticket.subject)
    return {
        "status": "handled",
        "ticket": result.ticket.id,
        "contact": result.message.author_contact_id,
    }
