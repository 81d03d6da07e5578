"""Mail to ``replies@`` (the Reply-To of sequence emails): the contact answered.

The reply is logged on the contact's timeline as an inbound email activity; an enrollment
waiting in a reply branch takes its "replied" way, their other active sequences stop (reason
``replied``), and ``marketing.reply_received`` is emitted. Automatic
replies (out of office), bulk mail and bounces stop nothing.
"""

from __future__ import annotations

from typing import Any

import kith

NOISE = {"autoreply", "bulk", "bounce"}


async def handle(ctx: kith.Context, message: dict[str, Any]) -> dict[str, Any]:
    """The email channel's handler for ``replies@``."""
    if NOISE & set(message.get("flags") or []):
        return {"status": "ignored"}
    sender = (message.get("sender") or "").lower()
    known = await ctx.find_one(kith.ContactEmail, email=sender) if sender else None
    if known is None:
        return {"status": "ignored", "error": f"{sender or 'the sender'} is not a contact"}
    contact_id = known["contact_id"]
    activity = await ctx.run(
        "activity.log",
        {
            "kind": "email",
            "direction": "inbound",
            "subject": (message.get("subject") or "(no subject)")[:500],
            "body": (message.get("text") or "(no text)")[:200_000],
            "contact": contact_id,
        },
    )
    outcome = await ctx.run("sequence.replied", {"contact": contact_id})
    ctx.emit(
        "marketing.reply_received",
        "contact",
        contact_id,
        activity=activity.id,
        stopped=outcome.stopped,
        branched=outcome.branched,
    )
    return {"status": "handled", "contact": contact_id}
