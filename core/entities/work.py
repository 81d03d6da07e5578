"""Activities (calls, emails, meetings, notes), tasks and tickets."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from ..commands import command
from ..context import Context
from ..errors import FieldError, KithError, invalid
from ..tables import Activity, Contact, Deal, Lead, Organization, Task, Team, Ticket
from ._common import (
    Custom,
    Email,
    Entity,
    Input,
    Name,
    Record,
    Ref,
    checked_custom,
    crud,
    merge_custom,
    set_fields,
)
from .people import resolve_contact, resolve_organization
from .users import resolve_user

ActivityKind = Literal["call", "email", "meeting", "note"]
Direction = Literal["inbound", "outbound"]
DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: str | int | None) -> int | None:
    """Seconds from ``1200``, ``"20m"``, ``"1h30m"`` or ``"45s"``."""
    if value is None or isinstance(value, int):
        if isinstance(value, int) and value < 0:
            raise ValueError("must not be negative")
        return value
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    m = DURATION.match(text)
    if not m or not any(m.groups()):
        raise ValueError(f"{value!r} is not a duration (e.g. 20m, 1h30m, 90s)")
    h, mi, s = (int(g or 0) for g in m.groups())
    return h * 3600 + mi * 60 + s


# Record kinds an activity or a task can point at, with how to resolve each.
LINKS: dict[str, tuple[type, str]] = {
    "contact": (Contact, "contact_id"),
    "organization": (Organization, "organization_id"),
    "deal": (Deal, "deal_id"),
    "lead": (Lead, "lead_id"),
    "ticket": (Ticket, "ticket_id"),
}


async def resolve_link(ctx: Context, kind: str, ref: Any) -> dict[str, Any]:
    if kind == "contact":
        return await resolve_contact(ctx, ref)
    if kind == "organization":
        return await resolve_organization(ctx, ref)
    from ..refs import resolve

    table = LINKS[kind][0]
    columns = ("title",) if kind == "deal" else ("subject",) if kind == "ticket" else ("name",)
    return await resolve(
        ctx, table, ref, field=kind, entity=kind, text_columns=columns, label=columns[0]
    )


class ActivityLog(Input):
    kind: ActivityKind
    subject: str | None = Field(None, max_length=500)
    body: str | None = Field(None, max_length=200_000)
    direction: Direction | None = None
    duration: int | str | None = Field(None, description="Seconds, or '20m', '1h30m'")
    outcome: str | None = Field(None, max_length=100)
    occurred_at: datetime | None = None
    contact: Ref | None = None
    organization: Ref | None = None
    deal: Ref | None = None
    lead: Ref | None = None
    ticket: Ref | None = None
    custom: Custom = {}

    _duration = field_validator("duration")(parse_duration)


class ActivityUpdate(Input):
    activity: int
    subject: str | None = Field(None, max_length=500)
    body: str | None = Field(None, max_length=200_000)
    outcome: str | None = Field(None, max_length=100)
    duration: int | str | None = None
    custom: Custom | None = None

    _duration = field_validator("duration")(parse_duration)


class ActivityOut(Record):
    kind: str
    subject: str | None
    body: str | None
    direction: str | None
    duration_seconds: int | None
    outcome: str | None
    occurred_at: datetime
    user_id: int | None
    contact_id: int | None
    organization_id: int | None
    deal_id: int | None
    lead_id: int | None
    ticket_id: int | None
    custom: dict[str, Any] = {}


async def _prepare_activity(
    ctx: Context, data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    if existing is not None:
        values = set_fields(data, "subject", "body", "outcome", "custom")
        if "duration" in data.model_fields_set:
            values["duration_seconds"] = data.duration
        merge_custom(values, existing)
        return values
    occurred = data.occurred_at or ctx.now()
    if occurred.tzinfo is None:
        raise invalid("occurred_at", "give a time zone (e.g. 2026-05-04T10:00:00+02:00)")
    values: dict[str, Any] = {
        "kind": data.kind,
        "subject": data.subject,
        "body": data.body,
        "direction": data.direction,
        "duration_seconds": data.duration,
        "outcome": data.outcome,
        "occurred_at": occurred,
        "user_id": ctx.actor.user_id,
        "custom": data.custom,
    }
    linked = 0
    for kind, (_, column) in LINKS.items():
        ref = getattr(data, kind)
        if ref is not None:
            values[column] = (await resolve_link(ctx, kind, ref))["id"]
            linked += 1
    if not linked:
        raise KithError(
            "invalid_input",
            "An activity must be linked to a contact, organization, deal, lead or ticket.",
            [FieldError("contact", "link the activity to at least one record", "missing")],
        )
    # An activity on a contact also shows on the contact's organization.
    if values.get("contact_id") and not values.get("organization_id"):
        contact = await ctx.get(Contact, values["contact_id"])
        values["organization_id"] = contact["organization_id"]
    return values


ACTIVITY = Entity(
    name="activity",
    table=Activity,
    area="activities",
    create_input=None,
    update_input=ActivityUpdate,
    output=ActivityOut,
    prepare=_prepare_activity,
    text_columns=("subject",),
    label="subject",
)


@command("activity.log", input=ActivityLog, output=ActivityOut, permission="activities.write")
async def log_activity(ctx: Context, data: ActivityLog) -> dict[str, Any]:
    """Log a call, email, meeting or note on one or more records (contact, organization,
    deal, lead, ticket). Durations take seconds or '20m' / '1h30m'."""
    values = await _prepare_activity(ctx, data, None)
    await checked_custom(ctx, ACTIVITY, data, values, None)
    row = await ctx.insert(Activity, values)
    ctx.emit(
        "activity.logged",
        "activity",
        row["id"],
        kind=row["kind"],
        record=ActivityOut.model_validate(row).model_dump(mode="json"),
    )
    return row


# ---- tasks --------------------------------------------------------------------------------------

TaskStatus = Literal["open", "done", "cancelled"]


class TaskCreate(Input):
    title: Name
    due: datetime | None = None
    assignee: Ref | None = Field(None, description="Default: whoever creates the task")
    contact: Ref | None = None
    organization: Ref | None = None
    deal: Ref | None = None
    lead: Ref | None = None
    ticket: Ref | None = None
    custom: Custom = {}


class TaskUpdate(Input):
    task: int
    title: Name | None = None
    due: datetime | None = None
    assignee: Ref | None = None
    custom: Custom | None = None


class TaskComplete(Input):
    task: int


class TaskOut(Record):
    title: str
    due_at: datetime | None
    assignee_id: int | None
    status: str
    completed_at: datetime | None
    record_type: str | None
    record_id: int | None
    custom: dict[str, Any] = {}


async def _prepare_task(ctx: Context, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    values = (
        {"title": data.title, "custom": data.custom}
        if existing is None
        else set_fields(data, "title", "custom")
    )
    if existing is not None:
        if "title" in values and values["title"] is None:
            raise invalid("title", "cannot be empty")
        merge_custom(values, existing)
    if "due" in data.model_fields_set:
        if data.due is not None and data.due.tzinfo is None:
            raise invalid("due", "give a time zone (e.g. 2026-05-04T13:00:00+02:00)")
        values["due_at"] = data.due
    if "assignee" in data.model_fields_set and data.assignee is not None:
        values["assignee_id"] = (await resolve_user(ctx, data.assignee, "assignee"))["id"]
    elif existing is None:
        values["assignee_id"] = ctx.actor.user_id
    if existing is None:
        links = [(k, getattr(data, k)) for k in LINKS if getattr(data, k) is not None]
        if len(links) > 1:
            raise invalid(links[1][0], "a task links to one record; give only one")
        if links:
            kind, ref = links[0]
            values["record_type"] = kind
            values["record_id"] = (await resolve_link(ctx, kind, ref))["id"]
    return values


TASK = Entity(
    name="task",
    table=Task,
    area="tasks",
    create_input=TaskCreate,
    update_input=TaskUpdate,
    output=TaskOut,
    prepare=_prepare_task,
    text_columns=("title",),
    label="title",
)


@command(
    "task.complete", input=TaskComplete, output=TaskOut, permission="tasks.write", idempotent=True
)
async def complete_task(ctx: Context, data: TaskComplete) -> dict[str, Any]:
    """Mark a task done."""
    row = await ctx.get(Task, data.task, field="task", for_update=True)
    if row["status"] == "done":
        return row
    row, changes = await ctx.update(Task, row, {"status": "done", "completed_at": ctx.now()})
    ctx.emit("task.completed", "task", row["id"], changes=changes)
    return row


# ---- tickets ------------------------------------------------------------------------------------

Priority = Literal["low", "normal", "high", "urgent"]


class TicketCreate(Input):
    subject: str = Field(min_length=1, max_length=500)
    requester: Ref | Email = Field(
        description="A contact (id, email or name); an unknown email creates the contact"
    )
    priority: Priority = "normal"
    type: str | None = Field(None, max_length=30)
    assignee: Ref | None = None
    team: Ref | None = None
    channel: Literal["email", "slack", "api", "web", "phone", "cli"] = "api"
    custom: Custom = {}

    @field_validator("requester", mode="before")
    @classmethod
    def _requester(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) and "@" in value else value


class TicketUpdate(Input):
    ticket: Ref
    subject: str | None = Field(None, min_length=1, max_length=500)
    type: str | None = Field(None, max_length=30)
    custom: Custom | None = None


class TicketOut(Record):
    subject: str
    requester_id: int | None
    organization_id: int | None
    status: str
    priority: str
    type: str | None
    assignee_id: int | None
    team_id: int | None
    channel: str
    custom: dict[str, Any] = {}


async def _prepare_ticket(
    ctx: Context, data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    if existing is not None:
        values = set_fields(data, "subject", "type", "custom")
        if "subject" in values and values["subject"] is None:
            raise invalid("subject", "cannot be empty")
        merge_custom(values, existing)
        return values
    values = {
        "subject": data.subject,
        "priority": data.priority,
        "type": data.type,
        "channel": data.channel,
        "custom": data.custom,
        "status": "new",
    }
    requester = data.requester
    try:
        contact = await resolve_contact(ctx, requester, "requester")
    except KithError as err:
        if err.code != "not_found" or not (isinstance(requester, str) and "@" in requester):
            raise
        contact = await ctx.run(
            "contact.create", {"name": requester.split("@")[0], "email": requester}
        )
        contact = contact.model_dump()
    values["requester_id"] = contact["id"]
    values["organization_id"] = contact.get("organization_id")
    if data.assignee is not None:
        values["assignee_id"] = (await resolve_user(ctx, data.assignee, "assignee"))["id"]
        values["status"] = "open"
    if data.team is not None:
        from ..refs import resolve

        values["team_id"] = (await resolve(ctx, Team, data.team, field="team", entity="team"))["id"]
    return values


TICKET = Entity(
    name="ticket",
    table=Ticket,
    area="tickets",
    create_input=TicketCreate,
    update_input=TicketUpdate,
    output=TicketOut,
    prepare=_prepare_ticket,
    text_columns=("subject",),
    label="subject",
)

COMMANDS = [log_activity, *crud(ACTIVITY, create=False), *crud(TASK), complete_task, *crud(TICKET)]
