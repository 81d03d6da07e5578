"""Read-only views for agents: queues with counts, and a ticket's whole thread."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import kith
from pydantic import BaseModel, Field

from ..queues import queue_page, team_counts
from ..refs import resolve, ticket_id
from ..relations import ccs, links, tags
from ..schemas import MessageOut, ticket_view
from ..tables import Message, TicketState


class QueueIn(kith.Input):
    queue: Literal["mine", "unassigned", "breaching_soon", "breached", "open"] = "mine"
    team: kith.Ref | None = None
    assignee: kith.Ref | None = Field(None, description="For 'mine': whose (default: you)")
    within_minutes: int = Field(60, ge=1, le=60 * 24 * 14, description="For breaching_soon")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class QueueItem(BaseModel):
    id: int
    subject: str
    status: str
    priority: str
    assignee_id: int | None
    team_id: int | None
    requester_id: int | None
    created_at: datetime
    updated_at: datetime
    next_breach_at: datetime | None
    breached_at: datetime | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    minutes_to_breach: int | None = Field(None, description="Wall-clock minutes until due")


class QueueOut(BaseModel):
    queue: str
    count: int
    tickets: list[QueueItem]


class CountsIn(kith.Input):
    team: kith.Ref | None = None
    within_minutes: int = Field(60, ge=1, le=60 * 24 * 14)


class TeamCounts(BaseModel):
    team_id: int | None
    team: str
    open: int
    unassigned: int
    breaching_soon: int
    breached: int
    mine: int


class CountsOut(BaseModel):
    totals: dict[str, int]
    teams: list[TeamCounts]


class ThreadIn(kith.Input):
    ticket: kith.Ref
    internal: bool = Field(True, description="Include internal comments")


class ThreadOut(BaseModel):
    ticket: Any
    messages: list[MessageOut]
    cc: list[str]
    tags: list[str]
    links: list[dict[str, Any]]
    merged: list[int]


async def _team_id(ctx: kith.Context, ref: Any) -> int | None:
    return None if ref is None else int((await resolve(ctx, "team", ref, "team"))["id"])


@kith.command(
    "ticket.queue", input=QueueIn, output=QueueOut, permission="tickets.read", read_only=True
)
async def queue(ctx: kith.Context, data: QueueIn) -> QueueOut:
    """A ticket queue with its count: ``mine`` (open work assigned to you, or ``assignee``),
    ``unassigned``, ``breaching_soon`` (an SLA clock due within ``within_minutes``),
    ``breached``, ``open``; optionally for one ``team``. Sorted by the next due time."""
    user_id = ctx.actor.user_id
    if data.assignee is not None:
        user_id = int((await resolve(ctx, "user", data.assignee, "assignee"))["id"])
    count, rows = await queue_page(
        ctx,
        data.queue,
        team_id=await _team_id(ctx, data.team),
        user_id=user_id,
        within=timedelta(minutes=data.within_minutes),
        limit=data.limit,
        offset=data.offset,
    )
    now = ctx.now()
    items = []
    for r in rows:
        due = r["next_breach_at"]
        left = int((due - now).total_seconds() // 60) if due is not None else None
        items.append(QueueItem.model_validate({**r, "minutes_to_breach": left}))
    return QueueOut(queue=data.queue, count=count, tickets=items)


@kith.command(
    "ticket.queues", input=CountsIn, output=CountsOut, permission="tickets.read", read_only=True
)
async def queues(ctx: kith.Context, data: CountsIn) -> CountsOut:
    """How many tickets each queue holds, in total and per team (``mine`` is yours)."""
    rows = await team_counts(
        ctx,
        team_id=await _team_id(ctx, data.team),
        user_id=ctx.actor.user_id,
        within=timedelta(minutes=data.within_minutes),
    )
    teams = []
    for r in rows:
        team = await ctx.find_one(kith.Team, id=r["team_id"]) if r["team_id"] else None
        teams.append(TeamCounts(**{**r, "team": team["name"] if team else "no team"}))
    keys = ("open", "unassigned", "breaching_soon", "breached", "mine")
    totals = {k: sum(getattr(t, k) for t in teams) for k in keys}
    return CountsOut(totals=totals, teams=teams)


@kith.command(
    "ticket.thread", input=ThreadIn, output=ThreadOut, permission="tickets.read", read_only=True
)
async def thread(ctx: kith.Context, data: ThreadIn) -> ThreadOut:
    """A ticket with its conversation (including tickets merged into it), CCs, tags and
    links."""
    number = await ticket_id(ctx, data.ticket)
    ticket = await ctx.get(kith.Ticket, number, field="ticket")
    state = await ctx.find_one(TicketState, ticket_id=number)
    merged = [r["ticket_id"] for r in await ctx.select(TicketState, merged_into_id=number)]
    messages: list[dict[str, Any]] = []
    for source in [number, *merged]:
        messages.extend(await ctx.select(Message, ticket_id=source))
    messages.sort(key=lambda m: (m["created_at"], m["id"]))
    if not data.internal:
        messages = [m for m in messages if m["public"]]
    return ThreadOut(
        ticket=ticket_view(ticket, state).model_dump(mode="json"),
        messages=[MessageOut.model_validate(m) for m in messages],
        cc=await ccs(ctx, number),
        tags=await tags(ctx, number),
        links=await links(ctx, number),
        merged=merged,
    )
