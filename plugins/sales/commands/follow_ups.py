"""Commands the plugin's event handlers run to keep follow-ups in step with what happened.

They are ordinary commands (so they run in a transaction with history, and a person or an
automation may run them too) and idempotent: running one twice changes nothing more.
"""

from __future__ import annotations

import kith
from pydantic import BaseModel, Field

from ..jobs import arm_deal, close_contact_task, contact_task
from ..records import OPEN_LEAD_STATUSES, marks


class DealRef(kith.Input):
    deal: int = Field(description="The deal's id")


class FollowUpOut(BaseModel):
    message: str


@kith.command(
    "deal.follow_up", input=DealRef, output=FollowUpOut, permission="deals.write", idempotent=True
)
async def follow_up_deal(ctx: kith.Context, data: DealRef) -> FollowUpOut:
    """Re-arm a deal's follow-up checks (rotting days of its stage, next step planned) from
    now; a closed deal's checks are cancelled. Run after a deal is created or touched."""
    deal = await ctx.get(kith.Deal, data.deal, field="deal")
    await arm_deal(ctx, deal)
    state = "armed" if deal["status"] == "open" else "cancelled"
    return FollowUpOut(message=f"follow-ups of deal #{deal['id']} {state}")


class LeadRef(kith.Input):
    lead: int = Field(description="The lead's id")


CONTACTING = ("call", "email", "meeting")


@kith.command(
    "lead.follow_up", input=LeadRef, output=FollowUpOut, permission="leads.write", idempotent=True
)
async def follow_up_lead(ctx: kith.Context, data: LeadRef) -> FollowUpOut:
    """Complete a lead's "Contact …" task (and stop its reminder) once a call, email or
    meeting was logged on the lead or its contact after the task was created."""
    lead = await ctx.get(kith.Lead, data.lead, field="lead")
    task = await contact_task(ctx, lead["id"])
    if task is None or lead["status"] not in OPEN_LEAD_STATUSES:
        return FollowUpOut(message="no open contact task")
    m = marks(ctx, 6)
    clauses = [f'"lead_id" = {m[0]}']
    params: list[object] = [lead["id"]]
    if lead["contact_id"]:
        clauses.append(f'"contact_id" = {m[1]}')
        params.append(lead["contact_id"])
    since = ctx.kith.db.statements.codec(kith.Activity).encode("occurred_at", task["created_at"])
    n = len(params)
    kinds = m[n + 1 : n + 1 + len(CONTACTING)]
    rows = await ctx.fetch(
        f'SELECT COUNT(*) AS n FROM "activities" WHERE ({" OR ".join(clauses)}) '  # noqa: S608
        f'AND "occurred_at" >= {m[n]} AND "kind" IN ({", ".join(kinds)}) '
        'AND "archived_at" IS NULL',
        [*params, since, *CONTACTING],
    )
    if not int(rows[0]["n"]):
        return FollowUpOut(message="not contacted yet")
    await close_contact_task(ctx, lead["id"], done=True)
    return FollowUpOut(message=f"contact task #{task['id']} completed")
