"""``forecast.get``: the read-only forecast Slack (``/kith forecast``), the API and MCP show."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, Literal

import kith
from pydantic import BaseModel, Field

from ..forecast import Money, aggregate_sql, sums_of, window
from ..records import encode, marks, resolve
from ..settings import settings_of


class ForecastGet(kith.Input):
    owner: kith.Ref | None = Field(None, description="Only this owner's deals ('me' works)")
    team: kith.Ref | None = Field(None, description="Only deals owned by this team's members")
    pipeline: kith.Ref | None = Field(None, description="Only this pipeline ('default' works)")
    period: Literal["month", "quarter", "year"] | None = Field(
        None, description="This month, quarter or year (instead of start/months)"
    )
    start: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="First month, YYYY-MM")
    months: int = Field(3, ge=1, le=36, description="How many months from start")


class ForecastOut(BaseModel):
    months: list[str]
    base_currency: str
    rates: dict[str, str]
    commit_probability: int
    best_case_probability: int
    total: dict[str, Any]
    by_owner: list[dict[str, Any]]
    by_team: list[dict[str, Any]]
    by_month: list[dict[str, Any]]
    undated: dict[str, Any] = Field(description="Open deals without an expected close date")


@kith.command(
    "forecast.get", input=ForecastGet, output=ForecastOut, permission="deals.read", read_only=True
)
async def get_forecast(ctx: kith.Context, data: ForecastGet) -> ForecastOut:
    """The sales forecast for a period: pipeline, weighted (value x stage probability), won,
    commit and best case, by owner, team and close month, in each currency and converted to
    the base currency. Filters: owner, team, pipeline; period or start + months."""
    settings = settings_of(ctx).forecast
    span = window(ctx.now().date(), data.start, data.months, data.period)
    m = marks(ctx, 9)
    params: list[Any] = [
        settings.commit_probability,
        settings.best_case_probability,
        encode(ctx, kith.Deal, "expected_close", span.start),
        encode(ctx, kith.Deal, "expected_close", span.end),
        encode(ctx, kith.Deal, "closed_at", _midnight(span.start)),
        encode(ctx, kith.Deal, "closed_at", _midnight(span.end)),
    ]
    filters: list[str] = []
    if data.owner is not None:
        owner = await resolve(ctx, "user", kith.User, data.owner, field="owner")
        filters.append(f"d.owner_id = {m[len(params)]}")
        params.append(owner["id"])
    if data.team is not None:
        team = await resolve(ctx, "team", kith.Team, data.team)
        members = "SELECT user_id FROM team_members WHERE team_id = "
        filters.append(f"d.owner_id IN ({members}{m[len(params)]})")
        params.append(team["id"])
    if data.pipeline is not None:
        pipeline = await resolve(ctx, "pipeline", kith.Pipeline, data.pipeline)
        filters.append(f"d.pipeline_id = {m[len(params)]}")
        params.append(pipeline["id"])
    rows = await ctx.fetch(aggregate_sql(ctx.kith.db.dialect, filters, m), params)

    total, undated = Money(), Money()
    by_owner: dict[int | None, Money] = defaultdict(Money)
    by_month: dict[str, Money] = defaultdict(Money)
    for row in rows:  # one row per (owner, currency, status, month): a few hundred at most
        sums = sums_of(row)
        if row["month"] is None:
            undated.add(row["currency"], sums)
            continue
        total.add(row["currency"], sums)
        by_owner[row["owner_id"]].add(row["currency"], sums)
        by_month[row["month"]].add(row["currency"], sums)
    names = await _user_names(ctx, [o for o in by_owner if o is not None])
    teams = await _teams_of(ctx, [o for o in by_owner if o is not None])
    by_team: dict[int, Money] = defaultdict(Money)
    team_names: dict[int, str] = {}
    for owner_id, money in by_owner.items():
        for team_id, team_name in teams.get(owner_id, []):
            team_names[team_id] = team_name
            for currency, sums in money.by_currency.items():
                by_team[team_id].add(currency, sums)
    return ForecastOut(
        months=span.months,
        base_currency=settings.base_currency,
        rates={k: str(v) for k, v in settings.rates.items()},
        commit_probability=settings.commit_probability,
        best_case_probability=settings.best_case_probability,
        total=total.show(settings),
        by_owner=[
            {"owner_id": o, "owner": names.get(o, "nobody"), **money.show(settings)}
            for o, money in sorted(by_owner.items(), key=lambda kv: names.get(kv[0], "~"))
        ],
        by_team=[
            {"team_id": t, "team": team_names[t], **money.show(settings)}
            for t, money in sorted(by_team.items(), key=lambda kv: team_names[kv[0]])
        ],
        by_month=[
            {"month": month, **by_month[month].show(settings)}
            for month in span.months
            if month in by_month
        ],
        undated=undated.show(settings),
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def _user_names(ctx: kith.Context, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    m = marks(ctx, len(ids))
    rows = await ctx.fetch(
        f'SELECT "id", "name" FROM "users" WHERE "id" IN ({", ".join(m)})',  # noqa: S608
        ids,
    )
    return {r["id"]: r["name"] for r in rows}


async def _teams_of(ctx: kith.Context, ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    if not ids:
        return {}
    m = marks(ctx, len(ids))
    rows = await ctx.fetch(
        'SELECT tm."user_id" AS user_id, t."id" AS id, t."name" AS name FROM "team_members" tm '  # noqa: S608
        f'JOIN "teams" t ON t."id" = tm."team_id" WHERE tm."user_id" IN ({", ".join(m)}) '
        'AND t."archived_at" IS NULL',
        ids,
    )
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        out[r["user_id"]].append((r["id"], r["name"]))
    return out
