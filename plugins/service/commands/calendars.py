"""Business calendars and holidays. Changing one reschedules the open tickets counting in it:
time already counted stays counted, the rest counts in the new hours."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import kith
from pydantic import BaseModel, Field, field_validator

from ..desk import Desk
from ..refs import OPEN_STATUSES, mark
from ..sla.calendar import BusinessCalendar, describe_hours, parse_hours
from ..sla.engine import load_calendar, week_from_json
from ..tables import Calendar, Holiday

Hours = dict[str, str | list[str]]
HOURS_HELP = 'Working hours per day: {"mon-fri": "09:00-17:00", "sat": ["10:00-12:00"]}'


def _week(hours: Hours) -> list[list[list[int]]]:
    try:
        week = parse_hours(hours)
    except ValueError as exc:
        raise kith.invalid("hours", str(exc)) from None
    return [[list(i) for i in day] for day in week]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"{value!r} is not a time zone name (e.g. Europe/Paris)") from None
    return value


class HolidayIn(BaseModel):
    date: date
    name: str = Field("", max_length=200)


class CalendarCreate(kith.Input):
    name: kith.Name
    time_zone: str = "UTC"
    hours: Hours = Field(description=HOURS_HELP)
    holidays: list[HolidayIn] = Field(default_factory=list, max_length=1000)
    default: bool = Field(False, description="Tickets with no team or policy calendar use it")

    _tz = field_validator("time_zone")(_zone)


class CalendarUpdate(kith.Input):
    calendar: kith.Ref
    name: kith.Name | None = None
    time_zone: str | None = None
    hours: Hours | None = Field(None, description=HOURS_HELP)
    default: bool | None = None

    _tz = field_validator("time_zone")(lambda v: _zone(v) if v is not None else v)


class HolidayChange(kith.Input):
    calendar: kith.Ref
    date: date
    name: str = Field("", max_length=200)


class CalendarRef(kith.Input):
    calendar: kith.Ref


class CalendarOut(BaseModel):
    id: int
    name: str
    time_zone: str
    hours: dict[str, list[str]]
    holidays: list[HolidayIn]
    default: bool
    rescheduled: int = 0


async def find_calendar(ctx: kith.Context, ref: Any, field: str = "calendar") -> dict[str, Any]:
    number = ref if isinstance(ref, int) else None
    if number is None and str(ref).strip().lstrip("#").isdigit():
        number = int(str(ref).strip().lstrip("#"))
    row = (
        await ctx.find_one(Calendar, id=number)
        if number is not None
        else await ctx.find_one(Calendar, name=str(ref).strip())
    )
    if row is None or row["archived_at"] is not None:
        raise kith.not_found("calendar", ref, field)
    return row


async def _out(ctx: kith.Context, row: dict[str, Any], rescheduled: int = 0) -> CalendarOut:
    days = await ctx.select(Holiday, calendar_id=row["id"], order_by="day")
    return CalendarOut(
        id=row["id"],
        name=row["name"],
        time_zone=row["time_zone"],
        hours=describe_hours(week_from_json(row["hours"])),
        holidays=[HolidayIn(date=h["day"], name=h["name"]) for h in days],
        default=bool(row["is_default"]),
        rescheduled=rescheduled,
    )


async def _only_default(ctx: kith.Context, keep: int) -> None:
    for other in await ctx.select(Calendar, is_default=True):
        if other["id"] != keep:
            await ctx.update(Calendar, other, {"is_default": False})


async def reschedule(ctx: kith.Context, calendar_id: int, old: BusinessCalendar) -> int:
    """Open tickets counting in ``calendar_id``: bank the time counted in ``old``, then move
    their due times and SLA jobs to the calendar as it is now."""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    sql = (
        'SELECT s."ticket_id" FROM "service_ticket_state" s JOIN "tickets" t '  # noqa: S608
        f'ON t."id" = s."ticket_id" WHERE s."calendar_id" = {mark(ctx)[0]} '
        f'AND s."merged_into_id" IS NULL AND t."status" IN ({statuses}) '
        'AND t."archived_at" IS NULL ORDER BY s."ticket_id"'
    )
    rows = await ctx.fetch(sql, [calendar_id])
    now = ctx.now()
    for row in rows:
        desk = await Desk.load(ctx, row["ticket_id"])
        for clock in desk.sla.clocks.values():
            clock.rebase(old, now)
        await desk.save()
    return len(rows)


@kith.command(
    "calendar.create", input=CalendarCreate, output=CalendarOut, permission="service.manage"
)
async def create_calendar(ctx: kith.Context, data: CalendarCreate) -> CalendarOut:
    """Create a business calendar: a time zone, working hours per weekday and holidays.
    A calendar without working hours is refused."""
    if await ctx.find_one(Calendar, name=data.name) is not None:
        raise kith.invalid("name", f"there is already a calendar called {data.name!r}")
    row = await ctx.insert(
        Calendar,
        {
            "name": data.name,
            "time_zone": data.time_zone,
            "hours": _week(data.hours),
            "is_default": data.default,
        },
    )
    seen: set[date] = set()
    for h in data.holidays:
        if h.date not in seen:
            seen.add(h.date)
            await ctx.insert(
                Holiday,
                {"calendar_id": row["id"], "day": h.date, "name": h.name},
                record_history=False,
            )
    if data.default:
        await _only_default(ctx, row["id"])
    ctx.emit("calendar.created", "calendar", row["id"], calendar=row["name"])
    return await _out(ctx, row)


@kith.command(
    "calendar.update", input=CalendarUpdate, output=CalendarOut, permission="service.manage"
)
async def update_calendar(ctx: kith.Context, data: CalendarUpdate) -> CalendarOut:
    """Change a calendar's name, time zone, hours or default flag. Open tickets counting in
    it are rescheduled: business time counted so far stays, the rest counts in the new
    hours."""
    row = await find_calendar(ctx, data.calendar)
    old = await load_calendar(ctx, row["id"])
    changes: dict[str, Any] = {}
    if data.name is not None:
        changes["name"] = data.name
    if data.time_zone is not None:
        changes["time_zone"] = data.time_zone
    if data.hours is not None:
        changes["hours"] = _week(data.hours)
    if data.default is not None:
        changes["is_default"] = data.default
    row, diff = await ctx.update(Calendar, row, changes)
    if data.default:
        await _only_default(ctx, row["id"])
    moved = 0
    if "hours" in diff or "time_zone" in diff:
        moved = await reschedule(ctx, row["id"], old)
    if diff:
        ctx.emit("calendar.updated", "calendar", row["id"], changes=diff, rescheduled=moved)
    return await _out(ctx, row, moved)


async def _holiday(ctx: kith.Context, data: HolidayChange, add: bool) -> CalendarOut:
    row = await find_calendar(ctx, data.calendar)
    old = await load_calendar(ctx, row["id"])
    existing = await ctx.find_one(Holiday, calendar_id=row["id"], day=data.date)
    if add and existing is None:
        await ctx.insert(
            Holiday,
            {"calendar_id": row["id"], "day": data.date, "name": data.name},
            record_history=False,
        )
    elif not add and existing is not None:
        await ctx.delete(Holiday, existing["id"])
    else:
        return await _out(ctx, row)
    action = "holiday_added" if add else "holiday_removed"
    ctx.record_history("calendar", row["id"], action, {"holiday": [None, data.date.isoformat()]})
    moved = await reschedule(ctx, row["id"], old)
    ctx.emit(f"calendar.{action}", "calendar", row["id"], date=data.date, rescheduled=moved)
    return await _out(ctx, row, moved)


@kith.command(
    "calendar.add_holiday",
    input=HolidayChange,
    output=CalendarOut,
    permission="service.manage",
    idempotent=True,
)
async def add_holiday(ctx: kith.Context, data: HolidayChange) -> CalendarOut:
    """Add a holiday (a local date with no business hours); open tickets are rescheduled."""
    return await _holiday(ctx, data, add=True)


@kith.command(
    "calendar.remove_holiday",
    input=HolidayChange,
    output=CalendarOut,
    permission="service.manage",
    idempotent=True,
)
async def remove_holiday(ctx: kith.Context, data: HolidayChange) -> CalendarOut:
    """Remove a holiday; open tickets are rescheduled."""
    return await _holiday(ctx, data, add=False)


@kith.command(
    "calendar.get", input=CalendarRef, output=CalendarOut, permission="tickets.read", read_only=True
)
async def get_calendar(ctx: kith.Context, data: CalendarRef) -> CalendarOut:
    """Show a calendar: time zone, hours and holidays."""
    return await _out(ctx, await find_calendar(ctx, data.calendar))
