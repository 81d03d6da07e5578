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
    """``(scope, member ids)`` of a team given by id or name."""
    if isinstance(team, int):
        row = await ctx.find_one(kith.Team, id=team)
    else:
        m = marks(ctx, 1)
        rows = await ctx.fetch(
            f'SELECT "id" FROM "teams" WHERE lower("name") = {m[0]} AND "archived_at" IS NULL',  # noqa: S608
            [str(team).strip().lower()],
        )
        row = {"id": rows[0]["id"]} if rows else None
    if row is None:
        return "", []
    members = await ctx.select(kith.TeamMember, team_id=row["id"])
    return f"team:{row['id']}", sorted(m["user_id"] for m in members)


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


async def _eligible(
    ctx: kith.Context, user_ids: list[int], settings: SalesSettings, need_counts: bool
) -> tuple[list[int], dict[int, int]]:
    """Members who can take a lead now, and everyone's open-lead count."""
    if not user_ids:
        return [], {}
    m = marks(ctx, len(user_ids))
    users = await ctx.fetch(
        f'SELECT "id", "active", "archived_at" FROM "users" WHERE "id" IN ({", ".join(m)})',  # noqa: S608
        user_ids,
    )
    active = {u["id"] for u in users if u["active"] and u["archived_at"] is None}
    states = {
        r["user_id"]: decode(ctx, RoutingMember, r)
        for r in await ctx.fetch(
            f'SELECT * FROM "sales_routing_members" WHERE "user_id" IN ({", ".join(m)})',  # noqa: S608
            user_ids,
        )
    }
    now = ctx.now()
    caps: dict[int, int] = {}
    eligible: list[int] = []
    for uid in user_ids:
        if uid not in active:
            continue
        state = states.get(uid)
        if state is not None:
            if not state["available"] or state["opted_out"]:
                continue
            if state["away_until"] is not None and state["away_until"] > now:
                continue
        cap = state["capacity"] if state is not None and state["capacity"] is not None else None
        cap = cap if cap is not None else settings.routing.default_capacity
        if cap is not None:
            caps[uid] = cap
        eligible.append(uid)
    counts = await open_lead_counts(ctx, eligible) if (caps or need_counts) else {}
    eligible = [u for u in eligible if u not in caps or counts.get(u, 0) < caps[u]]
    return eligible, counts


def _after(members: list[int], last: int | None) -> list[int]:
    """Members in round-robin order, starting after ``last``."""
    if last is None:
        return members
    later = [m for m in members if m > last]
    return later + [m for m in members if m <= last]


async def pick(
    ctx: kith.Context,
    scope: str,
    members: list[int],
    strategy: str,
    settings: SalesSettings,
) -> int | None:
    """Choose a member of ``scope`` (a team or rule) by ``strategy``; ``None`` if nobody can
    take a lead (everyone away, opted out or full)."""
    if not members:
        return None
    pointer = await _lock_pointer(ctx, scope)
    eligible, counts = await _eligible(ctx, members, settings, strategy == "load_balanced")
    if not eligible:
        return None
    ordered = _after(eligible, pointer["last_user_id"])
    if strategy == "load_balanced":
        fewest = min(counts.get(u, 0) for u in ordered)
        chosen = next(u for u in ordered if counts.get(u, 0) == fewest)
    elif strategy == "random":
        chosen = random.choice(ordered)
    else:
        chosen = ordered[0]
    m = marks(ctx, 2)
    await ctx.fetch(
        f'UPDATE "sales_routing_pointers" SET "last_user_id" = {m[0]} WHERE "id" = {m[1]}',  # noqa: S608
        [chosen, pointer["id"]],
    )
    return chosen


async def _available(ctx: kith.Context, user_id: int) -> bool:
    user = await ctx.find_one(kith.User, id=user_id)
    if user is None or not user["active"] or user["archived_at"] is not None:
        return False
    state = await ctx.find_one(RoutingMember, user_id=user_id)
    if state is None:
        return True
    away = state["away_until"] is not None and state["away_until"] > ctx.now()
    return bool(state["available"]) and not state["opted_out"] and not away


async def decide(
    ctx: kith.Context,
    settings: SalesSettings,
    facts: dict[str, Any],
    organization: dict[str, Any] | None,
) -> Decision:
    """Who gets the lead described by ``facts`` (see the module docstring for the order)."""
    routing = settings.routing
    if not routing.enabled:
        return Decision(None, "routing is off")
    if routing.organization_owner_first and organization and organization.get("owner_id"):
        if await _available(ctx, organization["owner_id"]):
            return Decision(
                organization["owner_id"],
                f"owner of {organization['name']} (#{organization['id']})",
            )
    for rule in await rules_in_order(ctx, settings):
        if not rule_matches(rule.when, facts):
            continue
        if rule.team is not None:
            scope, members = await _team_members(ctx, rule.team)
        else:
            scope, members = f"rule:{rule.name}", await _user_ids(ctx, rule.users)
        chosen = await pick(ctx, scope or f"rule:{rule.name}", members, rule.strategy, settings)
        if chosen is not None:
            return Decision(chosen, f"rule {rule.name}", rule.strategy)
    if routing.team:
        scope, members = await _team_members(ctx, routing.team)
        chosen = await pick(ctx, scope, members, routing.strategy, settings)
        if chosen is not None:
            return Decision(chosen, f"team {routing.team}", routing.strategy)
        return Decision(None, f"nobody in team {routing.team} can take a lead now")
    return Decision(None, "no routing rule matched")


__all__ = [
    "Decision",
    "RoutingPointer",
    "condition_holds",
    "decide",
    "facts_for",
    "open_lead_counts",
    "pick",
    "rule_matches",
]
