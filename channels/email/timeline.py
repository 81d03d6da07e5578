"""``email`` items on ticket and contact timelines: direction, subject, status."""

from __future__ import annotations

from typing import Any

import kith

from .tables import EmailMessage

_COLUMN = {"ticket": "ticket_id", "contact": "contact_id"}


async def items(
    ctx: kith.Context, entity: str, record_id: int, before: Any, limit: int
) -> list[dict[str, Any]]:
    column = _COLUMN.get(entity)
    if column is None:
        return []
    rows = await ctx.select(EmailMessage, order_by="id", descending=True, **{column: record_id})
    out = []
    for row in rows:
        at = row["created_at"]
        if before is not None and (at, "email", row["id"]) >= (before.at, before.kind, before.id):
            continue
        arrow = "from" if row["direction"] == "in" else "to"
        who = row["sender"] if row["direction"] == "in" else ", ".join(row["recipients"])
        out.append(
            {
                "at": at,
                "kind": "email",
                "id": row["id"],
                "summary": f"Email {arrow} {who}: {row['subject']}"[:300],
                "data": {
                    "direction": row["direction"],
                    "status": row["status"],
                    "message_id": row["message_id"],
                    "attachments": row["attachments"],
                },
            }
        )
        if len(out) >= limit:
            break
    return out
