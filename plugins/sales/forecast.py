"""The forecast: one SQL aggregate over the deals, summed up by owner, team and month.

Per deal (open deals by expected close month, won deals by the month they were won):

* ``pipeline`` — the value of open deals;
* ``weighted`` — value x stage probability, over open deals;
* ``won`` — the value of won deals;
* ``commit`` — won + open deals in stages of at least ``commit_probability`` %;
* ``best_case`` — won + open deals in stages of at least ``best_case_probability`` %.

The database groups the deals by owner, currency, month and status in one query; Python then
adds up those few groups (never the deals) and converts each currency into the base currency
with the configured rates. A currency without a rate is reported on its own and listed in
``unconverted``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import kith

from .settings import ForecastSettings

FIGURES = ("pipeline", "weighted", "won", "commit", "best_case")


@dataclass
class Window:
    start: date  # first day of the first month
    end: date  # first day after the last month

    @property
    def months(self) -> list[str]:
        out, d = [], self.start
        while d < self.end:
            out.append(f"{d:%Y-%m}")
            d = _add_months(d, 1)
        return out


def _add_months(d: date, n: int) -> date:
    month = d.month - 1 + n
    return date(d.year + month // 12, month % 12 + 1, 1)


def window(today: date, start: str | None, months: int, period: str | None) -> Window:
    """The months a forecast covers: ``period`` (this month/quarter/year) or ``months`` from
    ``start`` (``YYYY-MM``, default this month)."""
    first = date(today.year, today.month, 1)
    if period == "quarter":
        first, months = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), 3
    elif period == "year":
        first, months = date(today.year, 1, 1), 12
    elif period == "month":
        months = 1
    elif start:
        try:
            year, month = (int(p) for p in start.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise kith.invalid("start", f"{start!r} is not a month (write e.g. 2026-04)") from None
    return Window(first, _add_months(first, months))


def aggregate_sql(dialect: str, filters: list[str], marks: list[str]) -> str:
    """The one query: deals grouped by owner, currency, status and month. ``marks`` are the
    placeholders of: commit %, best-case %, window start date, end date, start time, end
    time, then one per filter."""
    if dialect == "postgres":
        closed = "(d.closed_at AT TIME ZONE 'UTC')::date"
        month = f"to_char(CASE WHEN d.status = 'won' THEN {closed} ELSE d.expected_close END, "
        month += "'YYYY-MM')"
    else:
        month = (
            "substr(CASE WHEN d.status = 'won' THEN d.closed_at ELSE d.expected_close END, 1, 7)"
        )
    commit, best, start, end, start_at, end_at = marks[:6]
    where = "".join(f" AND ({f})" for f in filters)
    return (
        "SELECT d.owner_id AS owner_id, d.currency AS currency, d.status AS status, "  # noqa: S608
        f"{month} AS month, COUNT(*) AS deals, SUM(d.value_minor) AS value, "
        "SUM(d.value_minor * s.probability) AS weighted, "
        f"SUM(CASE WHEN s.probability >= {commit} THEN d.value_minor ELSE 0 END) AS commit_value, "
        f"SUM(CASE WHEN s.probability >= {best} THEN d.value_minor ELSE 0 END) AS best_value "
        "FROM deals d JOIN stages s ON s.id = d.stage_id "
        "WHERE d.archived_at IS NULL AND ("
        f"(d.status = 'open' AND ((d.expected_close >= {start} AND d.expected_close < {end}) "
        "OR d.expected_close IS NULL)) "
        f"OR (d.status = 'won' AND d.closed_at >= {start_at} AND d.closed_at < {end_at}))"
        f"{where} GROUP BY d.owner_id, d.currency, d.status, month"
    )


@dataclass
class Sums:
    """Figures in minor units of one currency (weighted in hundredths of a minor unit)."""

    deals: int = 0
    pipeline: int = 0
    weighted: int = 0
    won: int = 0
    commit: int = 0
    best_case: int = 0

    def add(self, other: Sums) -> None:
        for name in ("deals", *FIGURES):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def sums_of(row: dict[str, Any]) -> Sums:
    value = int(row["value"] or 0)
    if row["status"] == "won":
        return Sums(deals=0, won=value, commit=value, best_case=value)
    return Sums(
        deals=int(row["deals"]),
        pipeline=value,
        weighted=int(row["weighted"] or 0),
        commit=int(row["commit_value"] or 0),
        best_case=int(row["best_value"] or 0),
    )


def _digits(currency: str) -> int:
    return len(kith.to_major(0, currency).partition(".")[2])


@dataclass
class Money:
    """Sums per currency, shown in major units; converted into the base where a rate exists."""

    by_currency: dict[str, Sums] = field(default_factory=lambda: defaultdict(Sums))

    def add(self, currency: str, sums: Sums) -> None:
        self.by_currency[currency].add(sums)

    def show(self, settings: ForecastSettings) -> dict[str, Any]:
        base = settings.base_currency
        exp = Decimal(1).scaleb(-_digits(base))
        totals = dict.fromkeys(FIGURES, Decimal(0))
        deals, missing = 0, []
        currencies = {}
        for currency, s in sorted(self.by_currency.items()):
            currencies[currency] = _major(s, currency)
            rate = Decimal(1) if currency == base else settings.rates.get(currency)
            if rate is None:
                missing.append(currency)
                continue
            deals += s.deals
            scale = Decimal(1).scaleb(-_digits(currency))
            for name in FIGURES:
                minor = Decimal(getattr(s, name)) / (100 if name == "weighted" else 1)
                totals[name] += minor * scale * rate
        out = {name: str(v.quantize(exp, ROUND_HALF_EVEN)) for name, v in totals.items()}
        return {
            "deals": deals,
            "currency": base,
            **out,
            "by_currency": currencies,
            "unconverted": missing,
        }


def _major(s: Sums, currency: str) -> dict[str, Any]:
    exp = Decimal(1).scaleb(-_digits(currency))
    out: dict[str, Any] = {"deals": s.deals}
    for name in FIGURES:
        minor = Decimal(getattr(s, name)) / (100 if name == "weighted" else 1)
        out[name] = str((minor * exp).quantize(exp, ROUND_HALF_EVEN))
    return out
