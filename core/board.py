"""``deal.board``: a pipeline as columns of open deals, with each column's totals.

One query for every column's count, total and weighted total (all open deals the actor sees,
per currency), one for the first ``per_column`` cards of every column (a window function), or
for one column from ``offset`` ("more"). The admin pipeline board renders it; the REST API
serves the same data as JSON (``POST /api/v1/commands/deal.board``).
"""

# SQL here is assembled from quoted identifiers and Params placeholders; every value is a
# bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from . import refs, visibility
from .commands import command
from .context import Context
from .db.params import Params
from .entities._common import Input, Ref, entities
from .entities.sales import default_pipeline, pipeline_stages, resolve_pipeline, resolve_stage
from .entities.users import resolve_user
from .errors import invalid
from .queries import filter_conditions
from .tables import Team


class BoardIn(Input):
    pipeline: Ref | None = Field(None, description="Id or name (default: the default pipeline)")
    owner: Ref | None = Field(None, description="Only deals this user owns")
    team: Ref | None = Field(None, description="Only deals owned by members of this team")
    filter: dict[str, Any] = Field(
        default_factory=dict, description="More conditions, as in deal.list (custom.<key>…)"
    )
    per_column: int = Field(50, ge=1, le=500, description="Cards per column")
    stage: Ref | None = Field(None, description="Only this column (with offset: 'more')")
    offset: int = Field(0, ge=0, description="With stage: skip this many cards")


class Card(BaseModel):
    id: int
    title: str
    value_minor: int
    currency: str
    owner_id: int | None
    owner: str | None
    contact: str | None
    organization: str | None
    stage_id: int
    created_at: datetime
    stage_changed_at: datetime | None
    next_activity_at: datetime | None
    expected_close: date | None
    age_days: int = Field(description="Days since the deal was created")
    days_in_stage: int
    rotting: bool = Field(description="Longer in its stage than the stage's rotting_days")


class Total(BaseModel):
    currency: str
    value_minor: int
    weighted_minor: int


class Column(BaseModel):
    stage_id: int
    name: str
    probability: int
    rotting_days: int | None
    count: int
    totals: list[Total]
    cards: list[Card]
    more: bool = Field(description="More cards than shown")


class BoardOut(BaseModel):
    pipeline_id: int
    pipeline: str
    count: int
    totals: list[Total]
    columns: list[Column]


async def _conditions(ctx: Context, data: BoardIn, pipeline_id: int, p: Params) -> list[str]:
    conds = [
        f'"pipeline_id" = {p(pipeline_id)}',
        "\"status\" = 'open'",
        '"archived_at" IS NULL',
    ]
    if data.owner is not None:
        owner = await resolve_user(ctx, data.owner, "owner")
        conds.append(f'"owner_id" = {p(owner["id"])}')
    if data.team is not None:
        team = await refs.resolve(ctx, Team, data.team, field="team", entity="team")
        conds.append(
            '"owner_id" IN (SELECT "user_id" FROM "team_members" '
            f'WHERE "team_id" = {p(team["id"])})'
        )
    if data.filter:
        conds += await filter_conditions(ctx, entities()["deal"], data.filter, p)
    seen = await visibility.sql_condition(ctx, "deal", p)
    if seen:
        conds.append(seen)
    return conds


def _card(row: dict[str, Any], rotting_days: int | None, now: datetime) -> Card:
    since = row["stage_changed_at"] or row["created_at"]
    in_stage = max(0, (now - since).days)
    return Card(
        **{k: row[k] for k in Card.model_fields if k in row},
        age_days=max(0, (now - row["created_at"]).days),
        days_in_stage=in_stage,
        rotting=rotting_days is not None and in_stage > rotting_days,
    )


_CARD_COLUMNS = (
    'd."id", d."title", d."value_minor", d."currency", d."owner_id", d."stage_id", '
    'd."created_at", d."stage_changed_at", d."next_activity_at", d."expected_close", '
    'u."name" AS owner, c."name" AS contact, o."name" AS organization'
)
_JOINS = (
    'LEFT JOIN "users" u ON u."id" = d."owner_id" '
    'LEFT JOIN "contacts" c ON c."id" = d."contact_id" '
    'LEFT JOIN "organizations" o ON o."id" = d."organization_id"'
)
_ORDER = 'd."value_minor" DESC, d."id" DESC'


async def _cards(
    ctx: Context, conds: list[str], p: Params, data: BoardIn, stage_id: int | None
) -> list[dict[str, Any]]:
    inner = f'SELECT * FROM "deals" WHERE {" AND ".join(conds)}'
    codec = ctx.kith.db.statements.codec(entities()["deal"].table)
    if stage_id is not None:
        sql = (
            f"SELECT {_CARD_COLUMNS} FROM ({inner}) d {_JOINS} "
            f'WHERE d."stage_id" = {p(stage_id)} ORDER BY {_ORDER} '
            f"LIMIT {p(data.per_column + 1)} OFFSET {p(data.offset)}"
        )
    else:
        sql = (
            f"SELECT * FROM (SELECT {_CARD_COLUMNS}, ROW_NUMBER() OVER "
            f'(PARTITION BY d."stage_id" ORDER BY {_ORDER}) AS rn FROM ({inner}) d {_JOINS}) x '
            f'WHERE x.rn <= {p(data.per_column + 1)} ORDER BY x."stage_id", x.rn'
        )
    rows = await ctx.fetch(sql, p.values)
    return [codec.decode(r) for r in rows]


@command("deal.board", input=BoardIn, output=BoardOut, permission="deals.read", read_only=True)
async def board(ctx: Context, data: BoardIn) -> BoardOut:
    """A pipeline as a board: its open stages as columns, each with the count, total and
    weighted total (value x stage probability) of all its open deals, and its first
    ``per_column`` cards (highest value first). With ``stage`` and ``offset``: the next cards
    of one column. Filters: ``owner``, ``team``, and ``filter`` as in deal.list."""
    if data.pipeline is not None:
        pipeline = await resolve_pipeline(ctx, data.pipeline)
    else:
        found = await default_pipeline(ctx)
        if found is None:
            raise invalid("pipeline", "there is no pipeline yet: create one (pipeline.create)")
        pipeline = found
    stages = [s for s in await pipeline_stages(ctx, pipeline["id"]) if s["kind"] == "open"]
    only: int | None = None
    if data.stage is not None:
        only = (await resolve_stage(ctx, pipeline["id"], data.stage))["id"]
    p = Params(ctx.kith.db.dialect)
    conds = await _conditions(ctx, data, pipeline["id"], p)
    where = " AND ".join(conds)
    sums = await ctx.fetch(
        f'SELECT "stage_id", "currency", COUNT(*) AS n, SUM("value_minor") AS total '
        f'FROM "deals" WHERE {where} GROUP BY "stage_id", "currency"',
        list(p.values),
    )
    cards = await _cards(ctx, conds, p, data, only)
    now = ctx.now()
    columns = []
    for stage in stages:
        if only is not None and stage["id"] != only:
            continue
        mine = [r for r in sums if r["stage_id"] == stage["id"]]
        totals = [
            Total(
                currency=r["currency"],
                value_minor=int(r["total"] or 0),
                weighted_minor=int(r["total"] or 0) * stage["probability"] // 100,
            )
            for r in sorted(mine, key=lambda r: -int(r["total"] or 0))
        ]
        rows = [r for r in cards if r["stage_id"] == stage["id"]]
        columns.append(
            Column(
                stage_id=stage["id"],
                name=stage["name"],
                probability=stage["probability"],
                rotting_days=stage["rotting_days"],
                count=sum(int(r["n"]) for r in mine),
                totals=totals,
                cards=[_card(r, stage["rotting_days"], now) for r in rows[: data.per_column]],
                more=len(rows) > data.per_column,
            )
        )
    overall: dict[str, list[int]] = {}
    for col in columns:
        for t in col.totals:
            acc = overall.setdefault(t.currency, [0, 0])
            acc[0] += t.value_minor
            acc[1] += t.weighted_minor
    return BoardOut(
        pipeline_id=pipeline["id"],
        pipeline=pipeline["name"],
        count=sum(c.count for c in columns),
        totals=[
            Total(currency=k, value_minor=v[0], weighted_minor=v[1]) for k, v in overall.items()
        ],
        columns=columns,
    )


COMMANDS = [board]
