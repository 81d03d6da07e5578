"""SLA policies, and what a ticket's SLA looks like right now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import kith
from pydantic import BaseModel, Field, ValidationError

from ..desk import Desk
from ..refs import OPEN_STATUSES, mark, ticket_id
from ..sla.clocks import LABELS, METRICS
from ..sla.engine import TicketSla
from ..sla.policy import PolicyRules
from ..tables import Calendar, Holiday, SlaPolicy, TicketState
from .calendars import find_calendar

RULES_HELP = (
    'Targets per priority in business minutes or durations, e.g. {"urgent": '
    '{"first_response": "1h", "next_response": "2h", "resolution": "8h"}}'
)


class PolicyCreate(kith.Input):
    name: kith.Name
    targets: dict[str, Any] = Field(description=RULES_HELP)
    tier: str | None = Field(None, max_length=50, description="Only for organizations of it")
    calendar: kith.Ref | None = None
    position: int = Field(0, description="Policies are tried in position order")
    warn_at: float = Field(0.75, description="Warn when this share of a target is used")
    escalation: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class PolicyUpdate(kith.Input):
    policy: kith.Ref
    name: kith.Name | None = None
    targets: dict[str, Any] | None = None
    tier: str | None = None
    calendar: kith.Ref | None = None
    position: int | None = None
    warn_at: float | None = None
    escalation: list[dict[str, Any]] | None = None


class PolicyOut(BaseModel):
    id: int
    name: str
    tier: str | None
    calendar_id: int | None
    position: int
    rules: dict[str, Any]
    rescheduled: int = 0


class ClockView(BaseModel):
    metric: str
    label: str
    state: str  # running | paused | met | not started
    target_minutes: int | None
    started_at: datetime | None
    due_at: datetime | None
    remaining_minutes: int | None
    met_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None


class SlaView(BaseModel):
    ticket: int
    status: str
    priority: str
    policy: str | None
    calendar: str
    time_zone: str
    clocks: list[ClockView]
    next_check_at: datetime | None
    escalation: dict[str, Any]


def _rules(targets: Any, warn_at: Any, escalation: Any) -> dict[str, Any]:
    try:
        rules = PolicyRules.model_validate(
            {"targets": targets, "warn_at": warn_at, "escalation": escalation}
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"]) or "targets"
        raise kith.invalid(loc, first["msg"].removeprefix("Value error, ")) from None
    return rules.model_dump(mode="json")


async def find_policy(ctx: kith.Context, ref: Any) -> dict[str, Any]:
    text = str(ref).strip().lstrip("#")
    row = (
        await ctx.find_one(SlaPolicy, id=int(text))
        if text.isdigit()
        else await ctx.find_one(SlaPolicy, name=str(ref).strip())
    )
    if row is None or row["archived_at"] is not None:
        raise kith.not_found("SLA policy", ref, "policy")
    return row


async def _retarget(ctx: kith.Context, policy_id: int) -> int:
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    sql = (
        'SELECT s."ticket_id" FROM "service_ticket_state" s JOIN "tickets" t '  # noqa: S608
        f'ON t."id" = s."ticket_id" WHERE s."policy_id" = {mark(ctx)[0]} '
        f'AND s."merged_into_id" IS NULL AND t."status" IN ({statuses}) ORDER BY s."ticket_id"'
    )
    rows = await ctx.fetch(sql, [policy_id])
    for row in rows:
        desk = await Desk.load(ctx, row["ticket_id"])
        desk.sla.retarget(desk.ticket["priority"])
        await desk.recalendar()
        await desk.save()
    return len(rows)


@kith.command(
    "sla_policy.create", input=PolicyCreate, output=PolicyOut, permission="service.manage"
)
async def create_policy(ctx: kith.Context, data: PolicyCreate) -> PolicyOut:
    """Create an SLA policy: first-response, next-response and resolution targets per
    priority (in business minutes), optionally only for one organization tier, with a
    calendar, a warning share and escalation steps. New tickets take the first policy (by
    position) whose tier matches their organization's."""
    if await ctx.find_one(SlaPolicy, name=data.name) is not None:
        raise kith.invalid("name", f"there is already a policy called {data.name!r}")
    rules = _rules(data.targets, data.warn_at, data.escalation)
    calendar_id = (await find_calendar(ctx, data.calendar))["id"] if data.calendar else None
    row = await ctx.insert(
        SlaPolicy,
        {
            "name": data.name,
            "tier": data.tier.lower() if data.tier else None,
            "calendar_id": calendar_id,
            "position": data.position,
            "rules": rules,
        },
    )
    ctx.emit("sla_policy.created", "sla_policy", row["id"], policy=row["name"])
    return PolicyOut.model_validate(row)


@kith.command(
    "sla_policy.update", input=PolicyUpdate, output=PolicyOut, permission="service.manage"
)
async def update_policy(ctx: kith.Context, data: PolicyUpdate) -> PolicyOut:
    """Change an SLA policy. Open tickets under it get the new targets at once (due times
    recomputed from each ticket's start)."""
    row = await find_policy(ctx, data.policy)
    rules = row["rules"]
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    if given & {"targets", "warn_at", "escalation"}:
        changes["rules"] = _rules(
            data.targets if data.targets is not None else rules["targets"],
            data.warn_at if data.warn_at is not None else rules["warn_at"],
            data.escalation if data.escalation is not None else rules["escalation"],
        )
    if data.name is not None:
        changes["name"] = data.name
    if "tier" in given:
        changes["tier"] = data.tier.lower() if data.tier else None
    if "calendar" in given:
        changes["calendar_id"] = (
            (await find_calendar(ctx, data.calendar))["id"] if data.calendar else None
        )
    if data.position is not None:
        changes["position"] = data.position
    row, diff = await ctx.update(SlaPolicy, row, changes)
    moved = 0
    if "rules" in diff or "calendar_id" in diff:
        moved = await _retarget(ctx, row["id"])
    if diff:
        ctx.emit("sla_policy.updated", "sla_policy", row["id"], changes=diff, rescheduled=moved)
    return PolicyOut.model_validate({**row, "rescheduled": moved})


class TicketRef(kith.Input):
    ticket: kith.Ref


def _minutes(value: Any) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


@kith.command(
    "ticket.sla", input=TicketRef, output=SlaView, permission="tickets.read", read_only=True
)
async def show_sla(ctx: kith.Context, data: TicketRef) -> SlaView:
    """A ticket's SLA now: each clock's target, due time, remaining business minutes, and
    whether it is running, paused or met, warned or breached."""
    number = await ticket_id(ctx, data.ticket)
    ticket = await ctx.get(kith.Ticket, number, field="ticket")
    state = await ctx.find_one(TicketState, ticket_id=number)
    if state is None:
        raise kith.KithError(
            "not_in_service",
            f"Ticket #{number} has not entered service yet (ticket.intake).",
            [kith.FieldError("ticket", "has no SLA yet", "not_in_service")],
            status=409,
        )
    sla = await TicketSla.load(ctx, state)
    now = ctx.now()
    clocks = []
    for metric in METRICS:
        c = sla.clocks[metric]
        state_name = (
            "running"
            if c.running
            else "paused"
            if c.active
            else "met"
            if c.met_at
            else "not started"
        )
        clocks.append(
            ClockView(
                metric=metric,
                label=LABELS[metric],
                state=state_name,
                target_minutes=_minutes(c.target),
                started_at=c.started_at,
                due_at=c.due_at(sla.calendar),
                remaining_minutes=_minutes(c.remaining(sla.calendar, now)) if c.active else None,
                met_at=c.met_at,
                warned_at=c.warned_at,
                breached_at=c.breached_at,
            )
        )
    calendar = (
        await ctx.find_one(Calendar, id=state["calendar_id"]) if state["calendar_id"] else None
    )
    return SlaView(
        ticket=number,
        status=ticket["status"],
        priority=ticket["priority"],
        policy=sla.policy.name if sla.policy.id else None,
        calendar=calendar["name"] if calendar else "around the clock",
        time_zone=sla.calendar.time_zone,
        clocks=clocks,
        next_check_at=state["next_check_at"],
        escalation=state["escalation"] or {},
    )


class PolicyListIn(kith.Input):
    pass


class CalendarSummary(BaseModel):
    id: int
    name: str
    time_zone: str
    is_default: bool
    hours: list[Any]
    holidays: int


class PolicyList(BaseModel):
    policies: list[PolicyOut]
    calendars: list[CalendarSummary]


@kith.command(
    "sla_policy.list",
    input=PolicyListIn,
    output=PolicyList,
    permission="tickets.read",
    read_only=True,
)
async def list_policies(ctx: kith.Context, data: PolicyListIn) -> PolicyList:
    """The SLA policies in the order tickets try them, and the business-hours calendars
    (with how many holidays each has)."""
    policies = sorted(
        (r for r in await ctx.select(SlaPolicy) if r["archived_at"] is None),
        key=lambda r: (r["position"], r["id"]),
    )
    calendars = []
    for cal in await ctx.select(Calendar):
        if cal["archived_at"] is not None:
            continue
        holidays = await ctx.select(Holiday, calendar_id=cal["id"])
        calendars.append(
            CalendarSummary(**{**cal, "hours": cal["hours"] or []}, holidays=len(holidays))
        )
    return PolicyList(policies=[PolicyOut.model_validate(p) for p in policies], calendars=calendars)
