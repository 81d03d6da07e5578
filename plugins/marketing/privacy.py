"""``contact.export``: everything Kith holds about a person, as JSON (GDPR access).

The contact with its addresses and custom fields, its whole timeline (history with
before/after values, activities, emails, tasks, what plugins add), its consent with proof
and its form submissions. The export itself is recorded in the contact's history and
emitted (``contact.exported``), so access to personal data leaves a trace.
"""

from __future__ import annotations

from typing import Any

import kith
from pydantic import BaseModel, Field

from .consent import consent_out, contact_row
from .tables import MarketingConsent, MarketingSubmission

MAX_TIMELINE_PAGES = 500


class ExportIn(kith.Input):
    contact: int


class ExportOut(BaseModel):
    contact: dict[str, Any]
    timeline: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    submissions: list[dict[str, Any]]
    complete: bool = Field(description="False when the timeline was longer than the export")


@kith.command("contact.export", input=ExportIn, output=ExportOut, permission="contacts.admin")
async def export(ctx: kith.Context, data: ExportIn) -> ExportOut:
    """Everything held about a contact, as JSON: fields, timeline, consent, submissions."""
    await contact_row(ctx, data.contact)
    contact = await ctx.run("contact.get", {"contact": data.contact})
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    complete = True
    for _ in range(MAX_TIMELINE_PAGES):
        page = await ctx.run(
            "contact.timeline", {"contact": data.contact, "limit": 200, "cursor": cursor}
        )
        items.extend(i.model_dump(mode="json") for i in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    else:
        complete = False
    consents = await ctx.select(MarketingConsent, contact_id=data.contact, order_by="purpose")
    submissions = await ctx.select(MarketingSubmission, contact_id=data.contact, order_by="id")
    ctx.record_history(
        "contact", data.contact, "exported", {"exported_by": [None, ctx.actor.label]}
    )
    ctx.emit("contact.exported", "contact", data.contact)
    return ExportOut(
        contact=contact.model_dump(mode="json"),
        timeline=items,
        consents=[consent_out(r).model_dump(mode="json") for r in consents],
        submissions=[
            {
                "id": s["id"],
                "form_id": s["form_id"],
                "data": s["data"],
                "attribution": s["attribution"],
                "ip": s["ip"],
                "at": s["created_at"].isoformat(),
            }
            for s in submissions
        ],
        complete=complete,
    )
