"""Routing: who gets a new lead, and which rule chose them.

Order: the owner of the lead's existing organization (if active and available), then the
territory rules — rules created by command first (``routing_rule.save``, by position), then
the ones in ``plugins.toml`` — and last the fallback team. A rule names a team (or users)
and a strategy:

* ``round_robin`` — the next member after the last one who got a lead from that team;
* ``load_balanced`` — the member with the fewest open leads (ties: round-robin order);
* ``random``.

Members who are inactive, away, opted out or at their capacity (open leads) are skipped.
Fairness under concurrency: the first statement of a routing locks the team's pointer row
(an ``UPDATE``), so concurrent routings of one team queue on it inside their transactions
(PostgreSQL row lock; SQLite has one writer anyway) and each sees the previous one's choice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import kith

from .records import OPEN_LEAD_STATUSES, decode, marks
from .settings import RuleSettings, SalesSettings
from .tables import RoutingMember, RoutingPointer, RoutingRule


@dataclass
class Decision:
    owner_id: int | None
    rule: str
    strategy: str | None = None
    time_zone: str | None = None  # the owner's, for showing when to contact the lead
    matched: bool = True  # False: no rule or team applies (not: everyone was busy)


@dataclass
class Rule:
    name: str
    when: dict[str, Any]
    team: Any  # a team id (rules made by command) or name (plugins.toml)
    users: list[Any]
    strategy: str


# ---- conditions -----------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def condition_holds(expected: Any, actual: Any) -> bool:
    """One condition: a value, a list of values (any of), or ``{"min": x, "max": y}``.
    Text compares case-insensitively; a missing field never matches."""
    if actual is None or actual == "":
        return False
    if isinstance(expected, dict):
        number = _number(actual)
        if number is None:
            return False
        low, high = expected.get("min"), expected.get("max")
        return (low is None or number >= Decimal(str(low))) and (
            high is None or number <= Decimal(str(high))
        )
    options = expected if isinstance(expected, list) else [expected]
    if isinstance(actual, list):
        return any(condition_holds(options, a) for a in actual)
    text = str(actual).strip().casefold()
    return any(str(o).strip().casefold() == text for o in options)


def rule_matches(when: dict[str, Any], facts: dict[str, Any]) -> bool:
    return all(condition_holds(expected, facts.get(key)) for key, expected in when.items())


def facts_for(lead: dict[str, Any], org: dict[str, Any] | None, extra: dict[str, Any]) -> dict:
    """The fields rules can test: the lead's, its organization's, custom fields of both as
    ``custom.<key>``, and what the capture form gave (country, industry, size)."""
    facts: dict[str, Any] = {}
    if org:
        for key in ("country", "industry", "size", "domain"):
            facts[key] = org.get(key)
        facts["organization"] = org.get("name")
        facts.update({f"custom.{k}": v for k, v in (org.get("custom") or {}).items()})
    for key in ("source", "company", "email", "name", "score", "status"):
        facts[key] = lead.get(key)
    facts.update({f"custom.{k}": v for k, v in (lead.get("custom") or {}).items()})
    facts.update({k: v for k, v in extra.items() if v is not None})
    return facts


# ---- rules ----------------------------------------------------------------------------------


async def rules_in_order(ctx: kith.Context, settings: SalesSettings) -> list[Rule]:
    stored = [r for r in await ctx.select(RoutingRule, order_by="position") if r["active"]]
    rules = [
        Rule(
            name=r["name"],
            when=r["conditions"] or {},
            team=r["team_id"],
            users=list(r["user_ids"] or []),
            strategy=r["strategy"] or settings.routing.strategy,
        )
        for r in sorted(stored, key=lambda r: (r["position"], r["id"]))
    ]
    rules += [_from_settings(r, settings) for r in settings.routing.rules]
    return rules


def _from_settings(rule: RuleSettings, settings: SalesSettings) -> Rule:
    return Rule(
        name=rule.name,
        when=rule.when,
        team=rule.team,
        users=list(rule.users),
        strategy=rule.strategy or settings.routing.strategy,
    )


async def _team_members(ctx: kith.Context, team: Any) -> tuple[str, list[int]]:
    """``(scope, member ids)`` of a team given by id or name, in one query."""
    m = marks(ctx, 1)
    where = "t.id = " if isinstance(team, int) else "lower(t.name) = "
    rows = await ctx.fetch(
        "SELECT t.id AS team_id, tm.user_id AS user_id FROM teams t "  # noqa: S608
        "LEFT JOIN team_members tm ON tm.team_id = t.id "
        f"WHERE {where}{m[0]} AND t.archived_at IS NULL",
        [team if isinstance(team, int) else str(team).strip().lower()],
    )
    if not rows:
        return "", []
    members = sorted(r["user_id"] for r in rows if r["user_id"] is not None)
    return f"team:{rows[0]['team_id']}", members


async def _user_ids(ctx: kith.Context, refs: list[Any]) -> list[int]:
    ids: list[int] = []
    for ref in refs:
        if isinstance(ref, int):
            ids.append(ref)
            continue
        user = await ctx.find_one(kith.User, email=str(ref).strip().lower())
        if user is not None:
            ids.append(user["id"])
    return sorted(set(ids))


# ---- members ---------------------------------------------------------------------------------


async def _lock_pointer(ctx: kith.Context, scope: str) -> dict[str, Any]:
    """Take the team's pointer row for this transaction (created on first use)."""
    m = marks(ctx, 1)
    update = (
        f'UPDATE "sales_routing_pointers" SET "turns" = "turns" + 1 WHERE "scope" = {m[0]} '  # noqa: S608
        'RETURNING "id", "last_user_id", "turns"'
    )
    rows = await ctx.fetch(update, [scope])
    if not rows:
        await ctx.fetch(
            f'INSERT INTO "sales_routing_pointers" ("scope", "turns") VALUES ({m[0]}, 0) '  # noqa: S608
            'ON CONFLICT ("scope") DO NOTHING',
            [scope],
        )
        rows = await ctx.fetch(update, [scope])
    return rows[0]


async def open_lead_counts(ctx: kith.Context, user_ids: list[int]) -> dict[int, int]:
    """Open leads (new, mql, qualified) each of ``user_ids`` owns."""
    if not user_ids:
        return {}
    m = marks(ctx, len(user_ids) + len(OPEN_LEAD_STATUSES))
    users, statuses = m[: len(user_ids)], m[len(user_ids) :]
    rows = await ctx.fetch(
        f'SELECT "owner_id", COUNT(*) AS n FROM "leads" WHERE "owner_id" IN ({", ".join(users)}) '  # noqa: S608
        f'AND "status" IN ({", ".join(statuses)}) AND "archived_at" IS NULL GROUP BY "owner_id"',
        [*user_ids, *OPEN_LEAD_STATUSES],
    )
    return {r["owner_id"]: int(r["n"]) for r in rows}


@dataclass
class Member:
    """A person's routing state: can they take a lead now, and how many at most."""

    id: int
    time_zone: str
    capacity: int | None
    can_take: bool


async def members(
    ctx: kith.Context, user_ids: list[int], settings: SalesSettings
) -> dict[int, Member]:
    """The routing state of ``user_ids`` (users joined with their routing row), one query."""
    if not user_ids:
        return {}
    m = marks(ctx, len(user_ids))
    rows = await ctx.fetch(
        "SELECT u.id AS id, u.active AS active, u.archived_at AS archived_at, "  # noqa: S608
        "u.time_zone AS time_zone, r.available AS available, r.away_until AS away_until, "
        "r.opted_out AS opted_out, r.capacity AS capacity FROM users u "
        f"LEFT JOIN sales_routing_members r ON r.user_id = u.id WHERE u.id IN ({', '.join(m)})",
        user_ids,
    )
    now = ctx.now()
    out: dict[int, Member] = {}
    for raw in rows:
        row = decode(ctx, RoutingMember, raw)
        away = row["away_until"] is not None and row["away_until"] > now
        free = row["available"] is None or (bool(row["available"]) and not row["opted_out"])
        capacity = row["capacity"] if row["capacity"] is not None else None
        out[row["id"]] = Member(
            id=row["id"],
            time_zone=row["time_zone"] or "UTC",
            capacity=capacity if capacity is not None else settings.routing.default_capacity,
            can_take=bool(row["active"]) and row["archived_at"] is None and free and not away,
        )
    return out


def _after(ids: list[int], last: int | None) -> list[int]:
    """``ids`` in round-robin order, starting after ``last``."""
    if last is None:
        return ids
    return [i for i in ids if i > last] + [i for i in ids if i <= last]


async def _has_room(ctx: kith.Context, member: Member) -> bool:
    if member.capacity is None:
        return True
    return (await open_lead_counts(ctx, [member.id])).get(member.id, 0) < member.capacity


async def pick(
    ctx: kith.Context,
    scope: str,
    user_ids: list[int],
    strategy: str,
    settings: SalesSettings,
) -> Member | None:
    """Choose a member of ``scope`` (a team or rule) by ``strategy``; ``None`` if nobody can
    take a lead (everyone away, opted out or full)."""
    if not user_ids:
        return None
    pointer = await _lock_pointer(ctx, scope)
    state = await members(ctx, user_ids, settings)
    ordered = _after(
        [u for u in user_ids if u in state and state[u].can_take], pointer["last_user_id"]
    )
    chosen: Member | None = None
    if strategy == "load_balanced":
        counts = await open_lead_counts(ctx, ordered)
        room = [
            u for u in ordered if state[u].capacity is None or counts.get(u, 0) < state[u].capacity
        ]
        if room:
            fewest = min(counts.get(u, 0) for u in room)
            chosen = state[next(u for u in room if counts.get(u, 0) == fewest)]
    else:
        if strategy == "random":
            random.shuffle(ordered)
        for uid in ordered:  # counting only as far as needed: usually the first has room
            if await _has_room(ctx, state[uid]):
                chosen = state[uid]
                break
    if chosen is None:
        return None
    m = marks(ctx, 2)
    await ctx.fetch(
        f'UPDATE "sales_routing_pointers" SET "last_user_id" = {m[0]} WHERE "id" = {m[1]}',  # noqa: S608
        [chosen.id, pointer["id"]],
    )
    return chosen


async def decide(
    ctx: kith.Context,
    settings: SalesSettings,
    facts: dict[str, Any],
    organization: dict[str, Any] | None,
) -> Decision:
    """Who gets the lead described by ``facts`` (see the module docstring for the order)."""
    routing = settings.routing
    if not routing.enabled:
        return Decision(None, "routing is off", matched=False)
    if routing.organization_owner_first and organization and organization.get("owner_id"):
        owner = (await members(ctx, [organization["owner_id"]], settings)).get(
            organization["owner_id"]
        )
        if owner is not None and owner.can_take:
            label = f"owner of {organization['name']} (#{organization['id']})"
            return Decision(owner.id, label, None, owner.time_zone)
    for rule in await rules_in_order(ctx, settings):
        if not rule_matches(rule.when, facts):
            continue
        if rule.team is not None:
            scope, ids = await _team_members(ctx, rule.team)
        else:
            scope, ids = f"rule:{rule.name}", await _user_ids(ctx, rule.users)
        chosen = await pick(ctx, scope or f"rule:{rule.name}", ids, rule.strategy, settings)
        if chosen is not None:
            return Decision(chosen.id, f"rule {rule.name}", rule.strategy, chosen.time_zone)
    if routing.team:
        scope, ids = await _team_members(ctx, routing.team)
        chosen = await pick(ctx, scope, ids, routing.strategy, settings)
        if chosen is not None:
            return Decision(chosen.id, f"team {routing.team}", routing.strategy, chosen.time_zone)
        return Decision(None, f"nobody in team {routing.team} can take a lead now")
    return Decision(None, "no routing rule matched", matched=False)


__all__ = [
    "Decision",
    "RoutingPointer",
    "condition_holds",
    "decide",
    "facts_for",
    "members",
    "open_lead_counts",
    "pick",
    "rule_matches",
]
