"""Who gets a ticket: assignment rules first, then round-robin within the team.

Rules are checked in position order; the first whose conditions all hold (any of its tags,
the requester's organization, a keyword in the subject, a priority) names a team and/or an
agent. Without an agent, round-robin picks the next member of the team after the last one
it chose, skipping members who are inactive, unavailable or at their cap of open tickets.

Concurrency: round-robin locks the team's row first (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite runs one write transaction at a time), so two tickets routed at the same moment
queue: the second sees the first's assignment when it counts open tickets and moves the
pointer on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kith

from .refs import OPEN_STATUSES, lock_row, mark
from .relations import tags as ticket_tags
from .settings import service_settings
from .tables import Agent, AssignmentRule, TeamSettings

if TYPE_CHECKING:
    from .desk import Desk

ASSIGNABLE_ROLES = ("agent", "manager", "admin")


def rule_matches(conditions: dict[str, Any], ticket: dict[str, Any], tags: list[str]) -> bool:
    """Every condition given must hold; a list condition holds when any of its items does."""
    wanted_tags = [t.lower() for t in conditions.get("tags_any") or []]
    if wanted_tags and not set(wanted_tags) & {t.lower() for t in tags}:
        return False
    orgs = conditions.get("organizations") or []
    if orgs and ticket.get("organization_id") not in orgs:
        return False
    words = [w.lower() for w in conditions.get("subject_keywords") or []]
    subject = (ticket.get("subject") or "").lower()
    if words and not any(w in subject for w in words):
        return False
    priorities = conditions.get("priorities") or []
    return not (priorities and ticket.get("priority") not in priorities)


async def matching_rule(ctx: kith.Context, ticket: dict[str, Any]) -> dict[str, Any] | None:
    rules = await ctx.select(AssignmentRule, order_by="position", active=True)
    if not rules:
        return None
    tags = await ticket_tags(ctx, ticket["id"])
    rules.sort(key=lambda r: (r["position"], r["id"]))
    return next((r for r in rules if rule_matches(r["conditions"] or {}, ticket, tags)), None)


async def open_counts(ctx: kith.Context, user_ids: list[int]) -> dict[int, int]:
    """Open (new, open, pending) tickets held by each of ``user_ids``."""
    if not user_ids:
        return {}
    marks = mark(ctx, len(user_ids))
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    sql = (
        'SELECT "assignee_id", COUNT(*) AS n FROM "tickets" '  # noqa: S608
        f'WHERE "assignee_id" IN ({", ".join(marks)}) AND "status" IN ({statuses}) '
        'AND "archived_at" IS NULL GROUP BY "assignee_id"'
    )
    return {int(r["assignee_id"]): int(r["n"]) for r in await ctx.fetch(sql, user_ids)}


async def candidates(ctx: kith.Context, team_id: int) -> list[dict[str, Any]]:
    """The team's members who may hold tickets, in id order, with their cap."""
    sql = (
        'SELECT u."id", u."name", u."role", u."active", u."archived_at", a."available", '  # noqa: S608
        'a."max_open" FROM "team_members" m JOIN "users" u ON u."id" = m."user_id" '
        'LEFT JOIN "service_agents" a ON a."user_id" = u."id" '
        f'WHERE m."team_id" = {mark(ctx)[0]} ORDER BY u."id"'
    )
    rows = await ctx.fetch(sql, [team_id])
    return [
        r
        for r in rows
        if r["active"]
        and r["archived_at"] is None
        and r["role"] in ASSIGNABLE_ROLES
        and (r["available"] is None or bool(r["available"]))
    ]


async def round_robin(ctx: kith.Context, team_id: int) -> dict[str, Any] | None:
    """The next available member of ``team_id`` under their cap (None if nobody is), and
    the pointer moved to them. Locks the team until the command commits."""
    team = await lock_row(ctx, kith.Team, team_id, "team")
    settings = await ctx.find_one(TeamSettings, team_id=team_id)
    if settings is not None and settings["mode"] == "manual":
        return None
    people = await candidates(ctx, team_id)
    counts = await open_counts(ctx, [p["id"] for p in people])
    team_cap = settings["max_open"] if settings is not None else None
    last = settings["last_assignee_id"] if settings is not None else None
    ordered = [p for p in people if last is None or p["id"] > last] + [
        p for p in people if last is not None and p["id"] <= last
    ]
    for person in ordered:
        cap = person["max_open"] if person["max_open"] is not None else team_cap
        if cap is None or counts.get(person["id"], 0) < cap:
            if settings is None:
                await ctx.insert(
                    TeamSettings,
                    {"team_id": team["id"], "last_assignee_id": person["id"]},
                    record_history=False,
                )
            else:
                await ctx.update(
                    TeamSettings,
                    settings,
                    {"last_assignee_id": person["id"]},
                    record_history=False,
                )
            return {**person, "team_name": team["name"]}
    return None


async def default_team(ctx: kith.Context) -> int | None:
    """The ``default_team`` setting's team, if it is set and exists."""
    name = service_settings(ctx).default_team
    if not name:
        return None
    team = await ctx.find_one(kith.Team, name=name)
    return int(team["id"]) if team is not None and team["archived_at"] is None else None


async def route(ctx: kith.Context, desk: Desk) -> bool:
    """Assign ``desk``'s ticket by the rules, then round-robin. Returns whether it moved."""
    ticket = desk.ticket
    rule = await matching_rule(ctx, ticket)
    team_id = ticket["team_id"]
    assignee_id: int | None = None
    reasons: list[str] = []
    if rule is not None:
        team_id = rule["team_id"] or team_id
        assignee_id = rule["assignee_id"]
        reasons.append(f"rule {rule['name']!r}")
    if team_id is None:
        team_id = await default_team(ctx)
    if assignee_id is None and team_id is not None:
        picked = await round_robin(ctx, team_id)
        if picked is not None:
            assignee_id = picked["id"]
            reasons.append(f"round-robin in {picked['team_name']}")
        else:
            reasons.append("nobody in the team is available under their cap")
    if not reasons:
        return False
    return await desk.assign(assignee_id, team_id, by="; ".join(reasons))


async def check_assignee(
    ctx: kith.Context, user: dict[str, Any], team_id: int | None, field: str = "assignee"
) -> None:
    """Refuse a user who cannot hold the ticket: inactive, a viewer, or outside a team that
    does not take outside assignees (its lead is always allowed)."""
    if not user.get("active", True) or user.get("archived_at") is not None:
        raise kith.invalid(field, f"{user['name']} is deactivated")
    if user["role"] not in ASSIGNABLE_ROLES:
        raise kith.invalid(field, f"{user['name']} is a {user['role']} and cannot hold tickets")
    if team_id is None:
        return
    team = await ctx.get(kith.Team, team_id, field="team")
    if team["lead_id"] == user["id"]:
        return
    member = await ctx.find_one(kith.TeamMember, team_id=team_id, user_id=user["id"])
    settings = await ctx.find_one(TeamSettings, team_id=team_id)
    if member is None and not (settings and settings["allow_outside_assignees"]):
        raise kith.KithError(
            "not_in_team",
            f"{user['name']} is not in team {team['name']}, which takes only its members.",
            [kith.FieldError(field, f"is not a member of team {team['name']}", "not_in_team")],
            status=409,
        )


async def set_availability(ctx: kith.Context, user_id: int, values: dict[str, Any]) -> None:
    row = await ctx.find_one(Agent, user_id=user_id)
    if row is None:
        await ctx.insert(Agent, {"user_id": user_id, **values})
    else:
        await ctx.update(Agent, row, values)
