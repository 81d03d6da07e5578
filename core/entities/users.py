"""Users (the people who work in Kith) and teams."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from ..context import Context
from ..errors import FieldError, KithError, invalid, not_found
from ..refs import SLACK_ID, ambiguous, as_id, by_text
from ..tables import Team, TeamMember, User
from ._common import (
    Custom,
    Email,
    Entity,
    Input,
    Name,
    Record,
    Ref,
    TimeZone,
    crud,
    merge_custom,
    set_fields,
)

Role = Literal["viewer", "agent", "manager", "admin"]
SLACK_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")


def _slack_member_id(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().removeprefix("<@").removesuffix(">").upper()
    if not SLACK_MEMBER_ID.match(text):
        raise ValueError(
            "is not a Slack member id (like U024BE7LH: in Slack, open the person's profile, "
            "then ⋮ → Copy member ID)"
        )
    return text


SlackMemberId = Annotated[str | None, AfterValidator(_slack_member_id)]


class UserCreate(Input):
    email: Email
    name: Name
    role: Role = "agent"
    time_zone: TimeZone = "UTC"
    slack_user_id: SlackMemberId = None
    custom: Custom = {}


class UserUpdate(Input):
    user: Ref
    email: Email | None = None
    name: Name | None = None
    role: Role | None = None
    time_zone: TimeZone | None = None
    slack_user_id: SlackMemberId = None
    active: bool | None = None
    custom: Custom | None = None


class UserOut(Record):
    email: str
    name: str
    role: str
    time_zone: str
    slack_user_id: str | None
    active: bool
    team_ids: list[int] = []
    custom: dict[str, Any] = {}


async def resolve_user(ctx: Context, ref: Any, field: str = "user") -> dict[str, Any]:
    """A user by id, email, Slack id (``U024BE7LH`` or ``<@U024BE7LH>``), ``me`` or name."""
    record_id = as_id(ref)
    if record_id is not None:
        return await ctx.get(User, record_id, field=field)
    if not isinstance(ref, str) or not ref.strip():
        raise invalid(field, "give a user id, email, Slack id or name")
    text = ref.strip()
    if text.lower() == "me":
        if ctx.actor.user_id is None:
            raise invalid(field, "'me' needs a signed-in user")
        return await ctx.get(User, ctx.actor.user_id, field=field)
    if "@" in text and not text.startswith(("@", "<@")):
        row = await ctx.find_one(User, email=text.lower())
        if row is None:
            raise not_found("user", text, field)
        return row
    slack = SLACK_ID.match(text)
    if slack:
        row = await ctx.find_one(User, slack_user_id=slack.group(1))
        if row is not None:
            return row
    name = text.removeprefix("@")
    rows = await by_text(ctx, User, "name", name)
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise ambiguous("user", name, field, rows, "name")
    raise not_found("user", text, field)


async def _check_unique(
    ctx: Context, values: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    for column in ("email", "slack_user_id"):
        value = values.get(column)
        if value is None:
            continue
        other = await ctx.find_one(User, **{column: value})
        if other is not None and (existing is None or other["id"] != existing["id"]):
            raise KithError(
                "conflict",
                f"{column}: {value} already belongs to user #{other['id']} ({other['name']})",
                [FieldError(column, f"already belongs to user #{other['id']}", "duplicate")],
                status=409,
            )


async def _prepare_user(ctx: Context, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    if existing is None:
        values = data.model_dump()
    else:
        values = set_fields(
            data, "email", "name", "role", "time_zone", "slack_user_id", "active", "custom"
        )
        for key in ("email", "name", "role", "time_zone", "active"):
            if key in values and values[key] is None:
                raise invalid(key, "cannot be empty")
        merge_custom(values, existing)
        if (
            existing["id"] == ctx.actor.user_id
            and values.get("role") not in (None, "admin")
            and existing["role"] == "admin"
        ):
            raise invalid("role", "you cannot remove your own admin role")
    await _check_unique(ctx, values, existing)
    return values


async def _present_user(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    members = await ctx.select(TeamMember, user_id=row["id"])
    return {**row, "team_ids": sorted(m["team_id"] for m in members)}


USER = Entity(
    name="user",
    table=User,
    area="users",
    create_input=UserCreate,
    update_input=UserUpdate,
    output=UserOut,
    prepare=_prepare_user,
    present=_present_user,
    write_level="admin",
    text_columns=("email", "name"),
    resolver=resolve_user,
)


# ---- teams --------------------------------------------------------------------------------------


class TeamCreate(Input):
    name: Name
    lead: Ref | None = None
    time_zone: TimeZone = "UTC"
    members: list[Ref] = Field(default_factory=list, max_length=500)
    custom: Custom = {}


class TeamUpdate(Input):
    team: Ref
    name: Name | None = None
    lead: Ref | None = None
    time_zone: TimeZone | None = None
    members: list[Ref] | None = Field(None, max_length=500)
    custom: Custom | None = None


class TeamOut(Record):
    name: str
    lead_id: int | None
    time_zone: str
    member_ids: list[int] = []
    custom: dict[str, Any] = {}


async def _prepare_team(ctx: Context, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    fields = ("name", "time_zone", "custom")
    values = (
        {k: getattr(data, k) for k in fields} if existing is None else set_fields(data, *fields)
    )
    if "lead" in data.model_fields_set or existing is None:
        values["lead_id"] = (
            (await resolve_user(ctx, data.lead, "lead"))["id"] if data.lead is not None else None
        )
    if "name" in values:
        if values["name"] is None:
            raise invalid("name", "cannot be empty")
        other = await ctx.find_one(Team, name=values["name"])
        if other is not None and (existing is None or other["id"] != existing["id"]):
            raise KithError(
                "conflict",
                f"name: there is already a team called {values['name']!r} (#{other['id']})",
                [FieldError("name", "is taken by another team", "duplicate")],
                status=409,
            )
    merge_custom(values, existing)
    return values


async def _write_members(
    ctx: Context, row: dict[str, Any], data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    if data.members is None or (existing is not None and "members" not in data.model_fields_set):
        return {}
    wanted: list[int] = []
    for i, ref in enumerate(data.members):
        user = await resolve_user(ctx, ref, f"members.{i}")
        if user["id"] not in wanted:
            wanted.append(user["id"])
    current = {m["user_id"]: m for m in await ctx.select(TeamMember, team_id=row["id"])}
    for user_id in wanted:
        if user_id not in current:
            await ctx.insert(
                TeamMember, {"team_id": row["id"], "user_id": user_id}, record_history=False
            )
    removed = [m for uid, m in current.items() if uid not in wanted]
    for member in removed:
        await ctx.delete(TeamMember, member["id"])
    before, after = sorted(current), sorted(wanted)
    if before == after:
        return {}
    changes = {"member_ids": [before, after]}
    return changes


async def _present_team(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    members = await ctx.select(TeamMember, team_id=row["id"])
    return {**row, "member_ids": sorted(m["user_id"] for m in members)}


TEAM = Entity(
    name="team",
    table=Team,
    area="teams",
    create_input=TeamCreate,
    update_input=TeamUpdate,
    output=TeamOut,
    prepare=_prepare_team,
    after_write=_write_members,
    present=_present_team,
    write_level="manage",
)

COMMANDS = crud(USER) + crud(TEAM)
