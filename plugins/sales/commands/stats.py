"""``deal.stats`` (win rate and cycle time) and ``lead.sources``, over a recent period: the
admin dashboards draw them; the API and MCP serve them as JSON."""

# Fixed statements with bound parameters (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import kith
from pydantic import BaseModel, Field

from ..records import decode, encode, marks, resolve


class StatsIn(kith.Input):
    days: int = Field(90, ge=1, le=3660, description="Deals closed in the last N days")
    owner: kith.Ref | None = Field(None, description="Only this owner's deals")
    team: kith.Ref | None = Field(None, description="Only deals owned by this team's members")


class OwnerStats(BaseModel):
    owner_id: int | None
    owner: str
    won: int
    lost: int
    win_rate: float | None = Field(description="won / (won + lost), 0..1")
    avg_cycle_days: float | None = Field(description="Average days from created to won")


class StatsOut(BaseModel):
    days: int
    won: int
    lost: int
    win_rate: float | None
    avg_cycle_days: float | None
    by_owner: list[OwnerStats]


class SourcesIn(kith.Input):
    days: int = Field(90, ge=1, le=3660, description="Leads created in the last N days")
    owner: kith.Ref | None = None
    team: kith.Ref | None = None


class Source(BaseModel):
    source: str
    leads: int
    converted: int


class SourcesOut(BaseModel):
    days: int
    sources: list[Source]


async def _owner_filter(ctx: kith.Context, owner: Any, team: Any, start: int) -> tuple[str, list]:
    if owner is not None:
        user = await resolve(ctx, "user", kith.User, owner, field="owner")
        return f' AND "owner_id" = {marks(ctx, 1, start)[0]}', [user["id"]]
    if team is not None:
        found = await resolve(ctx, "team", kith.Team, team, field="team")
        mark = marks(ctx, 1, start)[0]
        return (
            f' AND "owner_id" IN (SELECT "user_id" FROM "team_members" WHERE "team_id" = {mark})',
            [found["id"]],
        )
    return "", []


def _rate(won: int, lost: int) -> float | None:
    return won / (won + lost) if won + lost else None


@kith.command("deal.stats", input=StatsIn, output=StatsOut, permission="deals.read", read_only=True)
async def deal_stats(ctx: kith.Context, data: StatsIn) -> StatsOut:
    """Win rate and cycle time of the deals closed in the last ``days`` (per owner too):
    won / (won + lost), and the average days from a won deal's creation to its win."""
    since = ctx.now() - timedelta(days=data.days)
    extra, params = await _owner_filter(ctx, data.owner, data.team, 2)
    rows = await ctx.fetch(
        'SELECT "status", "owner_id", "created_at", "closed_at" FROM "deals" '
        f"WHERE \"status\" IN ('won', 'lost') AND \"archived_at\" IS NULL "
        f'AND "closed_at" >= {marks(ctx, 1)[0]}{extra}',
        [encode(ctx, kith.Deal, "closed_at", since), *params],
    )
    per: dict[int | None, dict[str, Any]] = defaultdict(lambda: {"won": 0, "lost": 0, "days": []})
    for raw in rows:
        row = decode(ctx, kith.Deal, raw)
        acc = per[row["owner_id"]]
        acc[row["status"]] += 1
        if row["status"] == "won" and row["closed_at"] and row["created_at"]:
            acc["days"].append((row["closed_at"] - row["created_at"]).total_seconds() / 86400)
    names = {}
    for owner_id in [o for o in per if o is not None]:
        user = await ctx.find_one(kith.User, id=owner_id)
        names[owner_id] = user["name"] if user else f"user {owner_id}"
    by_owner = [
        OwnerStats(
            owner_id=o,
            owner=names.get(o, "no owner") if o is not None else "no owner",
            won=a["won"],
            lost=a["lost"],
            win_rate=_rate(a["won"], a["lost"]),
            avg_cycle_days=round(sum(a["days"]) / len(a["days"]), 1) if a["days"] else None,
        )
        for o, a in per.items()
    ]
    by_owner.sort(key=lambda s: (-(s.won + s.lost), s.owner))
    won = sum(s.won for s in by_owner)
    lost = sum(s.lost for s in by_owner)
    cycle = [d for a in per.values() for d in a["days"]]
    return StatsOut(
        days=data.days,
        won=won,
        lost=lost,
        win_rate=_rate(won, lost),
        avg_cycle_days=round(sum(cycle) / len(cycle), 1) if cycle else None,
        by_owner=by_owner,
    )


@kith.command(
    "lead.sources", input=SourcesIn, output=SourcesOut, permission="leads.read", read_only=True
)
async def lead_sources(ctx: kith.Context, data: SourcesIn) -> SourcesOut:
    """Leads created in the last ``days`` by source, and how many of them were converted."""
    since = ctx.now() - timedelta(days=data.days)
    extra, params = await _owner_filter(ctx, data.owner, data.team, 2)
    rows = await ctx.fetch(
        "SELECT COALESCE(\"source\", '') AS source, COUNT(*) AS n, "
        "SUM(CASE WHEN \"status\" = 'converted' THEN 1 ELSE 0 END) AS converted "
        f'FROM "leads" WHERE "archived_at" IS NULL AND "created_at" >= {marks(ctx, 1)[0]}{extra} '
        "GROUP BY COALESCE(\"source\", '') ORDER BY n DESC",
        [encode(ctx, kith.Lead, "created_at", since), *params],
    )
    return SourcesOut(
        days=data.days,
        sources=[
            Source(
                source=r["source"] or "unknown",
                leads=int(r["n"]),
                converted=int(r["converted"] or 0),
            )
            for r in rows
        ],
    )
