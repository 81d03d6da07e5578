"""Dashboards: the bundled charts (pipeline by stage, forecast by month and owner, ticket
backlog by team, CSAT) and every plugin's widgets, drawn as SVG on the server."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import kith
from litestar import Request, get
from litestar.params import FromQuery

from ..web import Pages, guarded
from .common import options

PERIODS = [(30, "30 days"), (90, "90 days"), (180, "6 months"), (365, "12 months")]


def _major(text: str) -> float:
    return float(Decimal(text))


def _fmt(value: float, currency: str) -> str:
    from ..format import money

    return money(int(value * 100), currency, short=True)


async def _builtin(
    pages: Pages, sess: Any, f: kith.DashboardFilters
) -> list[tuple[str, str, list[kith.Bar]]]:
    """(title, note, bars) of the bundled charts the user may see."""
    charts: list[tuple[str, str, list[kith.Bar]]] = []
    payload: dict[str, Any] = {}
    if f.owner_id:
        payload["owner"] = f.owner_id
    if f.team_id:
        payload["team"] = f.team_id
    if pages.can(sess, "deal.board"):
        try:
            board = await pages.run(sess, "deal.board", {**payload, "per_column": 1})
        except kith.KithError:
            board = None
        if board is not None:
            cur = board.totals[0].currency if board.totals else "EUR"
            bars = []
            for c in board.columns:
                value = sum(t.value_minor for t in c.totals if t.currency == cur) / 100
                bars.append(kith.Bar(c.name, value, f"{c.count} · {_fmt(value, cur)}"))
            charts.append((f"Pipeline by stage ({board.pipeline})", f"open deals, {cur}", bars))
    if pages.can(sess, "forecast.get"):
        forecast = await pages.run(sess, "forecast.get", {**payload, "months": 6})
        cur = forecast.base_currency
        months = [
            kith.Bar(m["month"], _major(m["weighted"]), _fmt(_major(m["weighted"]), cur))
            for m in forecast.by_month
        ]
        charts.append(("Forecast by month", f"weighted, {cur}", months))
        owners = [
            kith.Bar(
                o["owner"] or "no owner", _major(o["weighted"]), _fmt(_major(o["weighted"]), cur)
            )
            for o in forecast.by_owner
        ]
        charts.append(("Forecast by owner", f"weighted, {cur}", owners))
    period = {**payload, "days": f.days}
    if pages.can(sess, "deal.stats"):
        stats = await pages.run(sess, "deal.stats", period)
        rate = "—" if stats.win_rate is None else f"{stats.win_rate:.0%}"
        cycle = "—" if stats.avg_cycle_days is None else f"{stats.avg_cycle_days:g} days"
        charts.append(
            (
                f"Win rate {rate} · cycle {cycle}",
                f"{stats.won} won, {stats.lost} lost in the last {f.days} days",
                [
                    kith.Bar(
                        s.owner,
                        s.win_rate or 0.0,
                        f"{s.win_rate:.0%} of {s.won + s.lost}" if s.win_rate is not None else "—",
                    )
                    for s in stats.by_owner
                ],
            )
        )
    if pages.can(sess, "lead.sources"):
        sources = await pages.run(sess, "lead.sources", period)
        charts.append(
            (
                "Lead sources",
                f"leads created in the last {f.days} days (converted)",
                [
                    kith.Bar(s.source, s.leads, f"{s.leads} ({s.converted} converted)")
                    for s in sources.sources
                ],
            )
        )
    if pages.can(sess, "ticket.queues"):
        counts = await pages.run(sess, "ticket.queues", {})
        backlog = [
            kith.Bar(t.team, t.open, f"{t.open} open · {t.breached} breached") for t in counts.teams
        ]
        charts.append(("Ticket backlog by team", "open tickets now", backlog))
    if pages.can(sess, "csat.results"):
        csat = await pages.run(sess, "csat.results", {"by": "team"})
        rows = [_csat_bar(r) for r in csat.rows]
        score = "—" if csat.score is None else f"{_score(csat.score):.0%}"
        charts.append((f"CSAT: {score} good", f"{csat.good} good · {csat.bad} bad", rows))
    return charts


def _row(r: Any) -> dict[str, Any]:
    return r if isinstance(r, dict) else r.model_dump()


def _score(value: Any) -> float:
    score = float(value)
    return score / 100 if score > 1 else score


def _csat_bar(r: Any) -> kith.Bar:
    row = _row(r)
    label = str(row.get("label") or row.get("team") or row.get("key") or "—")
    score = row.get("score")
    value = _score(score) if score is not None else 0.0
    return kith.Bar(label, value, "—" if score is None else f"{value:.0%}")


def routes(pages: Pages) -> list[Any]:
    @get("/dashboards", include_in_schema=False)
    async def dashboards_page(
        request: Request[Any, Any, Any],
        days: FromQuery[int] = 90,
        team: FromQuery[int | None] = None,
        owner: FromQuery[int | None] = None,
    ) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            if days not in dict(PERIODS):
                choices = ", ".join(str(d) for d, _ in PERIODS)
                raise kith.invalid("days", f"choose one of {choices}")
            filters = kith.DashboardFilters(days=days, team_id=team, owner_id=owner)
            charts = [(t, n, b, None) for t, n, b in await _builtin(pages, sess, filters)]
            for widget in pages.kith.hooks.dashboard_widgets():
                try:
                    bars = await widget.load(pages.kith, sess.actor, filters)
                    charts.append((widget.title, widget.description, bars, widget.kind))
                except kith.KithError as err:
                    charts.append((widget.title, err.message, [], "error"))
            return pages.render(
                "dashboards.html",
                sess,
                section="dashboards",
                charts=charts,
                periods=PERIODS,
                filters=filters,
                users=await options(pages, sess, "user.list"),
                teams=await options(pages, sess, "team.list"),
            )

        return await guarded(pages, request, render)

    return [dashboards_page]
