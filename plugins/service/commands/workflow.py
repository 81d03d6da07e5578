"""Moving a ticket along: status, priority, assignment, intake."""

from __future__ import annotations

import kith
from pydantic import Field

from ..assignment import check_assignee, round_robin, route
from ..desk import Desk
from ..intake import intake
from ..refs import lock_row, resolve, ticket_id
from ..schemas import Priority, Status, TicketResult, ticket_view
from ..sla.engine import TicketSla
from ..tables import TicketState


class SetStatus(kith.Input):
    ticket: kith.Ref
    status: Status


class SetPriority(kith.Input):
    ticket: kith.Ref
    priority: Priority


class Assign(kith.Input):
    ticket: kith.Ref
    assignee: kith.Ref | None = Field(
        None, description="A user (id, email, @name, 'me'); null unassigns"
    )
    team: kith.Ref | None = Field(
        None, description="Move to this team; without an assignee, round-robin picks one"
    )


class TicketRef(kith.Input):
    ticket: kith.Ref


def _result(desk: Desk, changed: bool) -> TicketResult:
    return TicketResult(ticket=ticket_view(desk.ticket, desk.state), changed=changed)


@kith.command(
    "ticket.set_status",
    input=SetStatus,
    output=TicketResult,
    permission="tickets.write",
    idempotent=True,
)
async def set_status(ctx: kith.Context, data: SetStatus) -> TicketResult:
    """Change a ticket's status: new → open → pending (waiting on the customer) → solved →
    closed. Pending pauses the next-response and resolution clocks; solved stops them, asks
    for a rating and closes the ticket after the configured days. Changes that make no sense
    (pending → new, closed → open) are refused."""
    desk = await Desk.load(ctx, data.ticket)
    changed = await desk.set_status(data.status)
    await desk.save()
    return _result(desk, changed)


@kith.command(
    "ticket.set_priority",
    input=SetPriority,
    output=TicketResult,
    permission="tickets.write",
    idempotent=True,
)
async def set_priority(ctx: kith.Context, data: SetPriority) -> TicketResult:
    """Change a ticket's priority (low, normal, high, urgent). The SLA due times are
    recomputed with the new priority's targets from the ticket's start, pauses included."""
    desk = await Desk.load(ctx, data.ticket)
    if desk.ticket["status"] == "closed":
        raise kith.invalid("ticket", f"ticket #{desk.id} is closed")
    changed = await desk.set_priority(data.priority)
    await desk.save()
    return _result(desk, changed)


@kith.command("ticket.assign", input=Assign, output=TicketResult, permission="tickets.write")
async def assign(ctx: kith.Context, data: Assign) -> TicketResult:
    """Assign a ticket to an agent and/or a team. A team alone picks its next available
    agent by round-robin; ``assignee: null`` unassigns. A team that takes only its members
    refuses an outside agent (its lead is always allowed)."""
    desk = await Desk.load(ctx, data.ticket)
    if desk.ticket["status"] == "closed":
        raise kith.invalid("ticket", f"ticket #{desk.id} is closed")
    team_id = desk.ticket["team_id"]
    if data.team is not None:
        team_id = (await resolve(ctx, "team", data.team, "team"))["id"]
    by = ctx.actor.name or ctx.actor.label
    if "assignee" in data.model_fields_set:
        assignee_id = None
        if data.assignee is not None:
            user = await resolve(ctx, "user", data.assignee, "assignee")
            row = await ctx.get(kith.User, user["id"], field="assignee")
            await check_assignee(ctx, row, team_id)
            assignee_id = row["id"]
    elif data.team is not None:
        picked = await round_robin(ctx, team_id)
        assignee_id = picked["id"] if picked else None
        by = f"{by}; round-robin in {picked['team_name']}" if picked else by
    else:
        raise kith.invalid("assignee", "give an assignee (or null to unassign), or a team")
    changed = await desk.assign(assignee_id, team_id, by=by)
    await desk.save()
    return _result(desk, changed)


@kith.command("ticket.route", input=TicketRef, output=TicketResult, permission="tickets.write")
async def reroute(ctx: kith.Context, data: TicketRef) -> TicketResult:
    """Assign a ticket again by the assignment rules and round-robin (e.g. after tagging)."""
    desk = await Desk.load(ctx, data.ticket)
    if desk.ticket["status"] in ("solved", "closed"):
        raise kith.invalid("ticket", f"ticket #{desk.id} is {desk.ticket['status']}")
    changed = await route(ctx, desk)
    await desk.save()
    return _result(desk, changed)


@kith.command(
    "ticket.intake",
    input=TicketRef,
    output=TicketResult,
    permission="tickets.write",
    idempotent=True,
)
async def intake_ticket(ctx: kith.Context, data: TicketRef) -> TicketResult:
    """Bring a ticket into service: match its organization by domain, route it, start its
    SLA clocks. Runs by itself after ``ticket.create``; running it again changes nothing."""
    number = await ticket_id(ctx, data.ticket)
    existed = await ctx.find_one(TicketState, ticket_id=number) is not None
    desk = await intake(ctx, number)
    return _result(desk, not existed)


@kith.command(
    "ticket.sla_refresh",
    input=TicketRef,
    output=TicketResult,
    permission="tickets.write",
    idempotent=True,
)
async def sla_refresh(ctx: kith.Context, data: TicketRef) -> TicketResult:
    """Pause a ticket's SLA clocks while it is archived and resume them when it is restored
    (runs by itself on ``ticket.archived`` and ``ticket.restored``)."""
    number = await ticket_id(ctx, data.ticket)
    ticket = await lock_row(ctx, kith.Ticket, number, "ticket")
    state = await ctx.find_one(TicketState, ticket_id=number)
    if state is None:
        return TicketResult(ticket=ticket_view(ticket), changed=False)
    desk = Desk(ctx, ticket, state, await TicketSla.load(ctx, state))
    await desk.save()
    return _result(desk, True)
