"""How tickets are routed: team settings, agents' availability, assignment rules."""

from __future__ import annotations

from typing import Any, Literal

import kith
from pydantic import BaseModel, Field

from ..assignment import set_availability
from ..desk import Desk
from ..refs import OPEN_STATUSES, mark, resolve
from ..tables import Agent, AssignmentRule, TeamSettings
from .calendars import find_calendar


class TeamConfigure(kith.Input):
    team: kith.Ref
    mode: Literal["round_robin", "manual"] | None = Field(
        None, description="round_robin: new tickets go to the next available member"
    )
    max_open: int | None = Field(None, ge=1, le=10_000, description="Cap of open tickets each")
    calendar: kith.Ref | None = Field(None, description="The team's business hours")
    allow_outside_assignees: bool | None = None


class TeamSettingsOut(BaseModel):
    team_id: int
    mode: str
    max_open: int | None
    calendar_id: int | None
    allow_outside_assignees: bool
    rescheduled: int = 0


class Availability(kith.Input):
    user: kith.Ref = "me"
    available: bool | None = None
    max_open: int | None = Field(None, ge=1, le=10_000)


class AgentOut(BaseModel):
    user_id: int
    available: bool
    max_open: int | None


class Conditions(BaseModel):
    tags_any: list[str] = Field(default_factory=list, max_length=50)
    organizations: list[kith.Ref] = Field(default_factory=list, max_length=50)
    subject_keywords: list[str] = Field(default_factory=list, max_length=50)
    priorities: list[Literal["low", "normal", "high", "urgent"]] = Field(default_factory=list)


class RuleCreate(kith.Input):
    name: kith.Name
    conditions: Conditions
    team: kith.Ref | None = None
    assignee: kith.Ref | None = None
    position: int = 0


class RuleUpdate(kith.Input):
    rule: kith.Ref
    name: kith.Name | None = None
    conditions: Conditions | None = None
    team: kith.Ref | None = None
    assignee: kith.Ref | None = None
    position: int | None = None
    active: bool | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    position: int
    conditions: dict[str, Any]
    team_id: int | None
    assignee_id: int | None
    active: bool


class RuleList(BaseModel):
    rules: list[RuleOut]


@kith.command(
    "service_team.configure",
    input=TeamConfigure,
    output=TeamSettingsOut,
    permission="service.manage",
)
async def configure_team(ctx: kith.Context, data: TeamConfigure) -> TeamSettingsOut:
    """Set how a team takes tickets: round-robin or manual, a cap of open tickets per
    agent, its business-hours calendar, and whether agents outside it may hold its tickets.
    A new calendar reschedules the team's open tickets."""
    team = await resolve(ctx, "team", data.team, "team")
    row = await ctx.find_one(TeamSettings, team_id=team["id"])
    given = data.model_fields_set
    values: dict[str, Any] = {}
    for key in ("mode", "allow_outside_assignees"):
        if getattr(data, key) is not None:
            values[key] = getattr(data, key)
    if "max_open" in given:
        values["max_open"] = data.max_open
    if "calendar" in given:
        values["calendar_id"] = (
            (await find_calendar(ctx, data.calendar))["id"] if data.calendar else None
        )
    if row is None:
        row = await ctx.insert(TeamSettings, {"team_id": team["id"], **values})
        diff = values
    else:
        row, diff = await ctx.update(TeamSettings, row, values)
    moved = 0
    if "calendar_id" in diff:
        statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
        sql = (
            f'SELECT "id" FROM "tickets" WHERE "team_id" = {mark(ctx)[0]} '  # noqa: S608
            f'AND "status" IN ({statuses}) AND "archived_at" IS NULL ORDER BY "id"'
        )
        for ticket in await ctx.fetch(sql, [team["id"]]):
            desk = await Desk.load(ctx, ticket["id"])
            await desk.recalendar()
            await desk.save()
            moved += 1
    ctx.emit("service_team.configured", "team", team["id"], changes=diff)
    return TeamSettingsOut.model_validate({**row, "rescheduled": moved})


@kith.command(
    "agent.set_availability",
    input=Availability,
    output=AgentOut,
    permission="tickets.write",
    idempotent=True,
)
async def availability(ctx: kith.Context, data: Availability) -> AgentOut:
    """Mark an agent available or away for round-robin (and set their own cap of open
    tickets). Agents change their own; managers change anyone's."""
    user = await resolve(ctx, "user", data.user, "user")
    if user["id"] != ctx.actor.user_id and not (
        ctx.actor.is_system or kith.ROLES.index(ctx.actor.role) >= kith.ROLES.index("manager")
    ):
        raise kith.forbidden("Only a manager may change another agent's availability.")
    values: dict[str, Any] = {}
    if data.available is not None:
        values["available"] = data.available
    if "max_open" in data.model_fields_set:
        values["max_open"] = data.max_open
    await set_availability(ctx, user["id"], values)
    row = await ctx.find_one(Agent, user_id=user["id"])
    assert row is not None
    ctx.emit("agent.availability_changed", "user", user["id"], **values)
    return AgentOut(user_id=user["id"], available=bool(row["available"]), max_open=row["max_open"])


async def _rule_values(ctx: kith.Context, data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    given = data.model_fields_set
    if data.conditions is not None:
        cond = data.conditions
        orgs = [
            (await resolve(ctx, "organization", ref, f"conditions.organizations.{i}"))["id"]
            for i, ref in enumerate(cond.organizations)
        ]
        values["conditions"] = {
            "tags_any": [" ".join(t.split()).lower() for t in cond.tags_any],
            "organizations": orgs,
            "subject_keywords": [k.strip().lower() for k in cond.subject_keywords if k.strip()],
            "priorities": cond.priorities,
        }
    if "team" in given or isinstance(data, RuleCreate):
        values["team_id"] = (
            (await resolve(ctx, "team", data.team, "team"))["id"] if data.team else None
        )
    if "assignee" in given or isinstance(data, RuleCreate):
        values["assignee_id"] = (
            (await resolve(ctx, "user", data.assignee, "assignee"))["id"] if data.assignee else None
        )
    for key in ("name", "position", "active"):
        if key in given and getattr(data, key) is not None:
            values[key] = getattr(data, key)
    return values


@kith.command(
    "assignment_rule.create", input=RuleCreate, output=RuleOut, permission="service.manage"
)
async def create_rule(ctx: kith.Context, data: RuleCreate) -> RuleOut:
    """Create an assignment rule: when a new ticket has any of ``tags_any``, comes from one
    of ``organizations``, has one of ``subject_keywords`` in its subject, or one of
    ``priorities`` (every condition given must hold), it goes to ``team`` and/or
    ``assignee`` (a team alone: round-robin in it). Rules are tried by ``position``."""
    values = await _rule_values(ctx, data)
    if values.get("team_id") is None and values.get("assignee_id") is None:
        raise kith.invalid("team", "a rule sends tickets to a team, an assignee, or both")
    if await ctx.find_one(AssignmentRule, name=data.name) is not None:
        raise kith.invalid("name", f"there is already a rule called {data.name!r}")
    row = await ctx.insert(AssignmentRule, values)
    ctx.emit("assignment_rule.created", "assignment_rule", row["id"], rule=row["name"])
    return RuleOut.model_validate(row)


@kith.command(
    "assignment_rule.update", input=RuleUpdate, output=RuleOut, permission="service.manage"
)
async def update_rule(ctx: kith.Context, data: RuleUpdate) -> RuleOut:
    """Change an assignment rule (``active: false`` switches it off)."""
    text = str(data.rule).strip().lstrip("#")
    row = (
        await ctx.find_one(AssignmentRule, id=int(text))
        if text.isdigit()
        else await ctx.find_one(AssignmentRule, name=str(data.rule).strip())
    )
    if row is None:
        raise kith.not_found("assignment rule", data.rule, "rule")
    row, diff = await ctx.update(AssignmentRule, row, await _rule_values(ctx, data))
    if diff:
        ctx.emit("assignment_rule.updated", "assignment_rule", row["id"], changes=diff)
    return RuleOut.model_validate(row)


class NoInput(kith.Input):
    pass


@kith.command(
    "assignment_rule.list",
    input=NoInput,
    output=RuleList,
    permission="tickets.read",
    read_only=True,
)
async def list_rules(ctx: kith.Context, data: NoInput) -> RuleList:
    """The assignment rules in the order they are tried."""
    rows = await ctx.select(AssignmentRule)
    rows.sort(key=lambda r: (r["position"], r["id"]))
    return RuleList(rules=[RuleOut.model_validate(r) for r in rows])
