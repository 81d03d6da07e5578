"""Sales benchmarks: lead routing and the forecast, each against a baseline of the same run.

* Routing: ``lead.capture`` of N leads (dedupe, routing round-robin over 20 owners with a
  capacity cap, contact task, follow-up job, events delivered) — leads/s and the spread of
  assignments — against the core's plain ``lead.create`` of the same leads with the sales
  plugin switched off (what routing costs on top of creating a lead).
* Forecast: ``forecast.get`` over M deals against the same aggregate as one raw SQL query.

Usage::

    .venv/bin/python bench/sales.py                  # 10,000 leads, 100,000 deals
    .venv/bin/python bench/sales.py --quick          # 1,000 leads, 10,000 deals
    .venv/bin/python bench/sales.py --db sqlite      # one backend

Prints a table and the ratios (targets: routing >= 500 leads/s on SQLite, forecast <= 2x the
raw query).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import kith
from kith.migrate import migrate
from kith.plugins.sales.commands.pipelines import DEFAULT_PIPELINE
from kith.plugins.sales.forecast import aggregate_sql
from kith.settings import PluginsFile

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
OWNERS = 20
SETTINGS = {
    "routing": {"team": "Sales", "strategy": "round_robin", "default_capacity": 100_000},
    "forecast": {"base_currency": "EUR", "rates": {"USD": "0.9", "GBP": "1.17"}},
}


@dataclass
class Result:
    backend: str
    leads: int
    leads_per_s: float
    baseline_leads_per_s: float
    spread: tuple[int, int]
    deals: int
    forecast_ms: float
    raw_ms: float


class Database:
    """A fresh migrated database for one backend (dropped afterwards)."""

    def __init__(self, backend: str, pg_admin_url: str) -> None:
        self.backend = backend
        self.pg_admin_url = pg_admin_url
        self.url = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._pg_name = ""

    async def __aenter__(self) -> str:
        if self.backend == "sqlite":
            self._tmp = tempfile.TemporaryDirectory()
            self.url = f"sqlite:///{Path(self._tmp.name) / 'bench.db'}"
        else:
            import asyncpg

            self._pg_name = f"kith_bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(self.pg_admin_url)
            await conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            await conn.close()
            self.url = f"{self.pg_admin_url.rsplit('/', 1)[0]}/{self._pg_name}"
        # every table of a default install (the bundled plugins are on, as in production)
        migrate(self.url, app_for(self.url, sales=True).hooks.tables())
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._pg_name:
            import asyncpg

            conn = await asyncpg.connect(self.pg_admin_url)
            await conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            await conn.close()


def app_for(url: str, sales: bool) -> kith.Kith:
    plugins = PluginsFile(enabled={"sales": sales}, settings={"sales": SETTINGS} if sales else {})
    # Kith's bundled plugins only: an installed plugin (say, one that needs sales) must not
    # change what is measured, nor stop the baseline from turning sales off
    settings = kith.Settings(
        database_url=url, plugins_file="/nonexistent/plugins.toml", load_entry_points=False
    )
    return kith.Kith(settings, plugins_file=plugins, clock=kith.FrozenClock())


async def setup_people(app: kith.Kith) -> list[int]:
    ids = []
    for i in range(OWNERS):
        user = await app.run(
            "user.create", {"email": f"rep{i}@bench.example", "name": f"Rep {i}"}, kith.SYSTEM
        )
        ids.append(user.id)
    await app.run("team.create", {"name": "Sales", "members": ids}, kith.SYSTEM)
    await app.run("pipeline.create", DEFAULT_PIPELINE, kith.SYSTEM)
    await app.drain()
    return ids


def lead_payload(i: int, run: str) -> dict[str, Any]:
    # One lead in ten comes from a new company's address (dedupe creates its organization);
    # the rest are free-mail addresses (no organization): the spread shows the strategy alone.
    domain = f"company{i}.example" if i % 10 == 0 else "gmail.com"
    return {"name": f"Lead {run}{i}", "email": f"lead.{run}{i}@{domain}", "source": "bench"}


async def bench_routing(url: str, n: int) -> tuple[float, float, tuple[int, int]]:
    """leads/s of lead.capture, leads/s of the baseline, (fewest, most) leads per owner."""
    app = app_for(url, sales=True)
    async with app:
        owners = await setup_people(app)
        started = time.perf_counter()
        for i in range(n):
            await app.run("lead.capture", lead_payload(i, "r"), kith.SYSTEM)
        await app.drain()
        routed = n / (time.perf_counter() - started)
        rows = await app.db.fetch('SELECT "user_id" FROM "sales_assignments"')
        counts = Counter(r["user_id"] for r in rows)
        spread = (min(counts.get(o, 0) for o in owners), max(counts.values()))

    baseline = app_for(url, sales=False)
    async with baseline:
        started = time.perf_counter()
        for i in range(n):
            payload = {**lead_payload(i, "b"), "owner": owners[i % OWNERS]}
            await baseline.run("lead.create", payload, kith.SYSTEM)
        await baseline.drain()
        plain = n / (time.perf_counter() - started)
    return routed, plain, spread


async def load_deals(app: kith.Kith, m: int, owners: list[int]) -> None:
    stages = await app.db.fetch('SELECT "id", "kind", "pipeline_id" FROM "stages"')
    codec = app.db.statements.codec(kith.Deal)
    cols = [
        "title",
        "value_minor",
        "currency",
        "pipeline_id",
        "stage_id",
        "status",
        "owner_id",
        "expected_close",
        "closed_at",
        "stage_changed_at",
        "created_at",
        "updated_at",
    ]
    sql = app.db.statements.insert(kith.Deal, cols, returning=False)
    rnd = random.Random(42)
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    batch: list[list[Any]] = []
    for i in range(m):
        stage = rnd.choice(stages)
        close = date(2026, 1, 1) + timedelta(days=rnd.randrange(365))
        values = {
            "title": f"Deal {i}",
            "value_minor": rnd.randrange(1_000, 10_000_000),
            "currency": rnd.choice(["EUR", "EUR", "EUR", "USD", "GBP"]),
            "pipeline_id": stage["pipeline_id"],
            "stage_id": stage["id"],
            "status": stage["kind"],
            "owner_id": rnd.choice(owners),
            "expected_close": None if i % 50 == 0 else close,
            "closed_at": now - timedelta(days=rnd.randrange(60))
            if stage["kind"] != "open"
            else None,
            "stage_changed_at": now,
            "created_at": now,
            "updated_at": now,
        }
        batch.append([codec.encode(c, values[c]) for c in cols])
        if len(batch) == 5_000:
            async with app.db.transaction() as tx:
                tx.defer_many(sql, batch)
            batch = []
    if batch:
        async with app.db.transaction() as tx:
            tx.defer_many(sql, batch)
    if app.db.dialect == "postgres":
        await app.db.execute_script("ANALYZE")


async def bench_forecast(url: str, m: int, repeat: int) -> tuple[float, float]:
    """Median ms of forecast.get and of the same aggregate as one raw query."""
    app = app_for(url, sales=True)
    async with app:
        owners = [r["id"] for r in await app.db.fetch('SELECT "id" FROM "users"')]
        await load_deals(app, m, owners)
        actor = kith.Actor(user_id=owners[0], role="manager", name="Ben", via="bench")
        marks = app.db.statements.placeholders(6)
        codec = app.db.statements.codec(kith.Deal)
        start, end = date(2026, 1, 1), date(2026, 4, 1)
        params = [
            75,
            40,
            codec.encode("expected_close", start),
            codec.encode("expected_close", end),
            codec.encode("closed_at", datetime(2026, 1, 1, tzinfo=UTC)),
            codec.encode("closed_at", datetime(2026, 4, 1, tzinfo=UTC)),
        ]
        raw_sql = aggregate_sql(app.db.dialect, [], marks)

        async def command() -> None:
            await app.run("forecast.get", {"period": "quarter"}, actor)

        async def raw() -> None:
            await app.db.fetch(raw_sql, params)

        for fn in (command, raw):  # warm up caches and connections
            await fn()
        timings: dict[str, list[float]] = {"command": [], "raw": []}
        for _ in range(repeat):
            for name, fn in (("raw", raw), ("command", command)):
                t0 = time.perf_counter()
                await fn()
                timings[name].append((time.perf_counter() - t0) * 1000)
        return statistics.median(timings["command"]), statistics.median(timings["raw"])


async def run_backend(backend: str, leads: int, deals: int, repeat: int, pg: str) -> Result:
    async with Database(backend, pg) as url:
        routed, plain, spread = await bench_routing(url, leads)
        forecast_ms, raw_ms = await bench_forecast(url, deals, repeat)
    return Result(backend, leads, routed, plain, spread, deals, forecast_ms, raw_ms)


def report(results: list[Result]) -> str:
    lines = [
        "| backend | leads | lead.capture leads/s | baseline lead.create leads/s | ratio | "
        "leads per owner (min-max) | deals | forecast.get ms | raw query ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.leads:,} | {r.leads_per_s:,.0f} | {r.baseline_leads_per_s:,.0f} "
            f"| {r.baseline_leads_per_s / r.leads_per_s:.2f}x slower | "
            f"{r.spread[0]}-{r.spread[1]} | {r.deals:,} | {r.forecast_ms:.1f} | {r.raw_ms:.1f} | "
            f"{r.forecast_ms / r.raw_ms:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 leads and 10,000 deals")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--leads", type=int, default=None)
    parser.add_argument("--deals", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None, help="forecast timings per side")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    args = parser.parse_args(argv)
    leads = args.leads or (1_000 if args.quick else 10_000)
    deals = args.deals or (10_000 if args.quick else 100_000)
    repeat = args.repeat or (5 if args.quick else 15)
    results = [
        asyncio.run(run_backend(b.strip(), leads, deals, repeat, args.pg_url))
        for b in args.db.split(",")
        if b.strip()
    ]
    print(report(results))
    for r in results:
        ok_routing = r.backend != "sqlite" or r.leads_per_s >= 500
        ok_forecast = r.forecast_ms <= 2 * r.raw_ms
        print(
            f"{r.backend}: routing {'OK' if ok_routing else 'BELOW'} target "
            f"(>= 500 leads/s on SQLite), forecast {'OK' if ok_forecast else 'ABOVE'} target "
            "(<= 2x the raw query)",
            file=sys.stderr,
        )
    return results


if __name__ == "__main__":
    main()
