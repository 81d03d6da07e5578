"""Merging and linking tickets; CCs and tags."""

from __future__ import annotations

from typing import Literal

import kith
from pydantic import BaseModel, Field, field_validator

from ..desk import Desk
from ..refs import ticket_id
from ..relations import add_cc, add_tag, ccs, link, remove_cc, retag, tag_name, tags
from ..schemas import TicketResult, ticket_view
from ..tables import TicketState


class Merge(kith.Input):
    survivor: kith.Ref = Field(description="The ticket that stays")
    loser: kith.Ref = Field(description="The ticket merged into it (closed)")


class LinkIn(kith.Input):
    ticket: kith.Ref
    other: kith.Ref
    kind: Literal["related", "duplicate", "follow_up", "follow_up_of"] = "related"


class CcIn(kith.Input):
    ticket: kith.Ref
    add: list[kith.Email] = Field(default_factory=list, max_length=50)
    remove: list[kith.Email] = Field(default_factory=list, max_length=50)


class TagIn(kith.Input):
    ticket: kith.Ref
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("add", "remove")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return [tag_name(v) for v in value]


class ListsOut(BaseModel):
    ticket: int
    items: list[str]
    changed: bool


@kith.command("ticket.merge", input=Merge, output=TicketResult, permission="tickets.write")
async def merge(ctx: kith.Context, data: Merge) -> TicketResult:
    """Merge ``loser`` into ``survivor``: the loser is closed and points at the survivor
    (replies and customer messages on it go to the survivor from now on); its requester and
    CCs are copied in, its tags added, and both tickets say so in an internal comment."""
    survivor_id = await ticket_id(ctx, data.survivor, "survivor")
    loser_id = await ticket_id(ctx, data.loser, "loser")
    if survivor_id == loser_id:
        raise kith.invalid("loser", "is the same ticket as the survivor")
    fields = {survivor_id: "survivor", loser_id: "loser"}
    desks = {n: await Desk.load(ctx, n, field=fields[n]) for n in sorted(fields)}
    survivor, loser = desks[survivor_id], desks[loser_id]
    if survivor.ticket["status"] == "closed":
        raise kith.invalid("survivor", f"ticket #{survivor_id} is closed; merge into an open one")
    now = ctx.now()
    await loser._update({"status": "closed"}, action="merged")
    loser.sla.stop_all(now)
    loser.pending.update(merged_into_id=survivor_id, closed_at=now)
    for key in (f"sla:{loser_id}", f"autoclose:{loser_id}", f"csat:{loser_id}"):
        await ctx.cancel(key)
    for earlier in await ctx.select(TicketState, merged_into_id=loser_id):
        await ctx.update(
            TicketState, earlier, {"merged_into_id": survivor_id}, record_history=False
        )
    requester = await ctx.find_one(kith.Contact, id=loser.ticket["requester_id"] or 0)
    copied = [e for e in [requester and requester.get("email"), *await ccs(ctx, loser_id)] if e]
    survivor_requester = await ctx.find_one(kith.Contact, id=survivor.ticket["requester_id"] or 0)
    for email in copied:
        if not survivor_requester or email != survivor_requester.get("email"):
            await add_cc(ctx, survivor_id, email)
    for name in await tags(ctx, loser_id):
        await add_tag(ctx, survivor_id, name)
    await link(ctx, survivor_id, loser_id, "merged")
    await survivor.add_message(
        "comment",
        f"Ticket #{loser_id} ({loser.ticket['subject']}) was merged into this ticket.",
        public=False,
        author_user_id=ctx.actor.user_id,
    )
    await loser.add_message(
        "comment",
        f"Merged into ticket #{survivor_id}.",
        public=False,
        author_user_id=ctx.actor.user_id,
    )
    ctx.record_history("ticket", survivor_id, "merged", {"merged": [None, loser_id]})
    ctx.emit("ticket.merged", "ticket", survivor_id, survivor=survivor_id, loser=loser_id)
    await loser.save()
    await survivor.save()
    return TicketResult(
        ticket=ticket_view(survivor.ticket, survivor.state),
        notice=f"Ticket #{loser_id} was merged into #{survivor_id}.",
    )


@kith.command(
    "ticket.link", input=LinkIn, output=TicketResult, permission="tickets.write", idempotent=True
)
async def link_tickets(ctx: kith.Context, data: LinkIn) -> TicketResult:
    """Link two tickets: ``related``, ``duplicate``, or one the ``follow_up`` of the other.
    Both tickets show the link."""
    first = await ticket_id(ctx, data.ticket)
    other = await ticket_id(ctx, data.other, "other")
    if first == other:
        raise kith.invalid("other", "is the same ticket")
    row = await ctx.get(kith.Ticket, first, field="ticket")
    await ctx.get(kith.Ticket, other, field="other")
    changed = await link(ctx, first, other, data.kind)
    state = await ctx.find_one(TicketState, ticket_id=first)
    return TicketResult(ticket=ticket_view(row, state), changed=changed)


@kith.command("ticket.cc", input=CcIn, output=ListsOut, permission="tickets.write", idempotent=True)
async def cc(ctx: kith.Context, data: CcIn) -> ListsOut:
    """Copy people on a ticket's public replies (``add``), or stop (``remove``)."""
    desk = await Desk.load(ctx, data.ticket)
    before = await ccs(ctx, desk.id)
    for email in data.add:
        await add_cc(ctx, desk.id, email)
    for email in data.remove:
        await remove_cc(ctx, desk.id, email)
    after = await ccs(ctx, desk.id)
    if before != after:
        ctx.record_history("ticket", desk.id, "ccs_changed", {"cc": [before, after]})
        ctx.emit("ticket.ccs_changed", "ticket", desk.id, before=before, after=after)
    return ListsOut(ticket=desk.id, items=after, changed=before != after)


@kith.command(
    "ticket.tag", input=TagIn, output=ListsOut, permission="tickets.write", idempotent=True
)
async def tag(ctx: kith.Context, data: TagIn) -> ListsOut:
    """Add or remove tags on a ticket (trimmed, lower-case; stored as the core's tags)."""
    number = await ticket_id(ctx, data.ticket)
    await ctx.get(kith.Ticket, number, field="ticket", for_update=True)
    changes = await retag(ctx, number, data.add, data.remove)
    return ListsOut(ticket=number, items=await tags(ctx, number), changed=bool(changes))
