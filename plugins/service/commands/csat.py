"""Recording ratings from signed links, and the results per agent, team and month."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import kith
from pydantic import BaseModel, Field

from ..csat import month_of, verify
from ..refs import mark, resolve
from ..tables import Csat


class TokenIn(kith.Input):
    token: str = Field(min_length=10, max_length=2000)


class RatingIn(kith.Input):
    token: str = Field(min_length=10, max_length=2000, description="From the rating link")
    rating: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=5000)


class SurveyOut(BaseModel):
    survey: int
    ticket: int
    subject: str
    rating: str | None
    comment: str | None
    rated_at: datetime | None


class ResultsIn(kith.Input):
    by: Literal["agent", "team", "month"] = "month"
    team: kith.Ref | None = None
    since: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="First month, 2026-01")
    until: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="Last month")


class ResultRow(BaseModel):
    key: str | int | None
    label: str
    good: int
    bad: int
    rated: int
    score: float | None = Field(description="Share of good ratings, 0..1")


class Results(BaseModel):
    by: str
    rows: list[ResultRow]
    good: int
    bad: int
    score: float | None


async def _survey(ctx: kith.Context, token: str) -> tuple[dict, dict]:
    survey_id, ticket_id = verify(ctx.kith, token, ctx.now())
    survey = await ctx.find_one(Csat, id=survey_id)
    if survey is None or survey["ticket_id"] != ticket_id:
        raise kith.KithError(
            "invalid_token",
            "This rating link does not match any request.",
            [kith.FieldError("token", "matches no rating request", "invalid_token")],
        )
    ticket = await ctx.get(kith.Ticket, ticket_id, field="token")
    return survey, ticket


def _out(survey: dict, ticket: dict) -> SurveyOut:
    return SurveyOut(
        survey=survey["id"],
        ticket=ticket["id"],
        subject=ticket["subject"],
        rating=survey["rating"],
        comment=survey["comment"],
        rated_at=survey["rated_at"],
    )


@kith.command("csat.show", input=TokenIn, output=SurveyOut, permission="csat.read", read_only=True)
async def show(ctx: kith.Context, data: TokenIn) -> SurveyOut:
    """What a rating link is about (the page a link opens shows this; it changes nothing,
    since mail scanners open every link)."""
    survey, ticket = await _survey(ctx, data.token)
    return _out(survey, ticket)


@kith.command("csat.record", input=RatingIn, output=SurveyOut, permission="csat.write")
async def record(ctx: kith.Context, data: RatingIn) -> SurveyOut:
    """Record a customer's rating (good or bad, with an optional comment) from the signed
    token of their rating link; rating again replaces the earlier rating."""
    survey, ticket = await _survey(ctx, data.token)
    now = ctx.now()
    survey, diff = await ctx.update(
        Csat,
        survey,
        {"rating": data.rating, "comment": data.comment, "rated_at": now, "month": month_of(now)},
        record_history=False,
    )
    ctx.record_history(
        "ticket", ticket["id"], "rated", {"rating": diff.get("rating", [None, data.rating])}
    )
    ctx.emit(
        "ticket.csat_rated",
        "ticket",
        ticket["id"],
        survey=survey["id"],
        rating=data.rating,
        comment=data.comment,
        agent_id=survey["agent_id"],
        team_id=survey["team_id"],
    )
    return _out(survey, ticket)


@kith.command(
    "csat.results", input=ResultsIn, output=Results, permission="tickets.read", read_only=True
)
async def results(ctx: kith.Context, data: ResultsIn) -> Results:
    """Ratings counted per agent, team or month (score = share of good ratings)."""
    column = {"agent": "agent_id", "team": "team_id", "month": "month"}[data.by]
    where, params = ['c."rating" IS NOT NULL'], []
    if data.team is not None:
        params.append((await resolve(ctx, "team", data.team, "team"))["id"])
    if data.since:
        params.append(data.since)
    if data.until:
        params.append(data.until)
    marks = iter(mark(ctx, len(params)))
    if data.team is not None:
        where.append(f'c."team_id" = {next(marks)}')
    if data.since:
        where.append(f'c."month" >= {next(marks)}')
    if data.until:
        where.append(f'c."month" <= {next(marks)}')
    sql = (
        f'SELECT c."{column}" AS k, '  # noqa: S608
        "SUM(CASE WHEN c.\"rating\" = 'good' THEN 1 ELSE 0 END) AS good, "
        "SUM(CASE WHEN c.\"rating\" = 'bad' THEN 1 ELSE 0 END) AS bad "
        f'FROM "service_csat" c WHERE {" AND ".join(where)} GROUP BY c."{column}" ORDER BY 1'
    )
    rows = await ctx.fetch(sql, params)
    names: dict[int, str] = {}
    if data.by in ("agent", "team"):
        table = kith.User if data.by == "agent" else kith.Team
        for r in rows:
            if r["k"] is not None:
                found = await ctx.find_one(table, id=r["k"])
                names[r["k"]] = found["name"] if found else f"#{r['k']}"
    out = []
    for r in rows:
        good, bad = int(r["good"] or 0), int(r["bad"] or 0)
        label = r["k"] if data.by == "month" else names.get(r["k"], "unassigned")
        out.append(
            ResultRow(
                key=r["k"],
                label=str(label or "unassigned"),
                good=good,
                bad=bad,
                rated=good + bad,
                score=round(good / (good + bad), 4) if good + bad else None,
            )
        )
    good, bad = sum(r.good for r in out), sum(r.bad for r in out)
    return Results(
        by=data.by,
        rows=out,
        good=good,
        bad=bad,
        score=round(good / (good + bad), 4) if good + bad else None,
    )
