"""``email.parse`` (raw → handler) and ``email.deliver`` (row → SMTP), both retried."""

from __future__ import annotations

from typing import Any

import kith

from .outbound import deliver
from .parse import parse
from .routing import handler_for
from .settings import email_settings
from .tables import EmailMessage


async def _mark(ctx: kith.Context, row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    new, _ = await ctx.update(EmailMessage, row, changes, record_history=False)
    return new


@kith.job("email.parse", max_attempts=8, backoff_base_s=10.0)
async def parse_job(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Parse a stored inbound message and hand it to its address's handler.

    A message that cannot be parsed stays stored with status ``failed`` and its error, and
    the job is retried (then dead and retryable in ``kith jobs``): never dropped."""
    row = await ctx.find_one(EmailMessage, id=int(payload["id"]))
    if row is None or row["status"] not in ("received", "failed"):
        return
    # A parser failure raises: the row stays stored (status ``received``) and the job's
    # error is visible and retryable in ``kith jobs``.
    parsed = parse(row["raw"].encode("latin-1"))
    row = await _mark(
        ctx,
        row,
        status="parsed",
        message_id=parsed["message_id"],
        in_reply_to=parsed["in_reply_to"],
        thread_refs=" ".join(parsed["references"]),
        subject=parsed["subject"],
        text=parsed["text"],
        html=parsed["html"],
        attachments=parsed["attachments"],
        flags=parsed["flags"],
        sender=parsed["sender"] or row["sender"],
        error=None,
    )
    settings = email_settings(ctx)
    outcome: dict[str, Any] = {}
    for recipient in row["recipients"]:
        if not recipient.endswith("@" + settings.domain.lower()):
            continue
        handler = handler_for(ctx.kith, recipient)
        if handler is None:
            continue
        outcome = await handler(ctx, {**parsed, "recipient": recipient, "row": row["id"]})
        await _mark(
            ctx,
            row,
            status=outcome.get("status", "handled"),
            handler=recipient.split("@")[0][:50],
            ticket_id=outcome.get("ticket"),
            contact_id=outcome.get("contact"),
            error=outcome.get("error"),
        )
        return
    await _mark(ctx, row, status="unrouted")


@kith.job("email.deliver", max_attempts=8, backoff_base_s=30.0)
async def deliver_job(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Send a queued outbound message (relay or maildir); retried with backoff."""
    row = await ctx.find_one(EmailMessage, id=int(payload["id"]))
    if row is None or row["status"] == "sent":
        return
    where = await deliver(row, email_settings(ctx))
    await _mark(ctx, row, status="sent", error=None, flags=[where])


JOBS = [parse_job, deliver_job]
