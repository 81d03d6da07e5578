"""Admin pages benchmark: the pipeline board and the ticket queue, against the same data as
JSON from the REST API, in the same run.

* **Board**: D open deals (default 5,000) over six stages and five owners. ``GET
  /admin/board`` (the first 50 cards of every column and every column's count, total and
  weighted total, rendered as HTML with the filters' option lists) against ``POST
  /api/v1/commands/deal.board`` with ``per_column=50`` (the same query, as JSON).
* **Queue**: T open tickets (default 10,000, made through ``ticket.create`` so the SLA state
  exists). ``GET /admin/tickets?queue=open`` (first page of 50 with the queue counts) against
  ``ticket.queue`` + ``ticket.queues`` through the API.

Requests go through the ASGI app in this process (no network), signed in as an agent, with
a session cookie for the pages and a bearer token for the API, interleaved. p50/p99 over R
requests each. Targets: board and queue p99 < 150 ms on SQLite, <= 2x the JSON endpoint.

Usage::

    .venv/bin/python bench/admin.py                 # 5,000 deals, 10,000 tickets, 200 requests
    .venv/bin/python bench/admin.py --quick         # 1,000 deals, 1,000 tickets, 60 requests
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import kith
from kith.migrate import migrate
from kith.settings import PluginsFile
from kith.web import create_app

PASSWORD = "bench password 1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load_deals(app: kith.Kith, n: int, owners: list[int]) -> None:
    pipeline = await app.run(
        "pipeline.create",
        {
            "name": "Bench",
            "stages": [
                {"name": name, "probability": p, "rotting_days": 14}
                for name, p in (
                    ("Lead in", 10),
                    ("Qualified", 20),
                    ("Demo", 40),
                    ("Proposal", 60),
                    ("Negotiation", 80),
                    ("Verbal yes", 90),
                )
            ],
        },
        kith.SYSTEM,
    )
    stages = [s.id for s in pipeline.stages if s.kind == "open"]
    st = app.db.statements
    cols = (
        "title",
        "value_minor",
        "currency",
        "pipeline_id",
        "stage_id",
        "status",
        "owner_id",
        "stage_changed_at",
        "created_at",
        "updated_at",
    )
    sql = st.insert(kith.Deal, cols, returning=False)
    codec = st.codec(kith.Deal)
    rnd = random.Random(5)
    now = datetime.now(UTC)
    async with app.db.transaction() as tx:
        for i in range(n):
            when = now - timedelta(days=rnd.randint(0, 60))
            values = (
                f"Deal {i}",
                rnd.randint(1, 500) * 10_000,
                "EUR",
                pipeline.id,
                rnd.choice(stages),
                "open",
                rnd.choice(owners),
                when,
                when,
                when,
            )
            await tx.execute(sql, codec.encode_values(cols, values))
    print(f"  {n:,} open deals", file=sys.stderr)


async def load_tickets(app: kith.Kith, n: int, agent: kith.Actor) -> None:
    for i in range(n):
        await app.run(
            "ticket.create",
            {"subject": f"Ticket {i}", "requester": f"customer{i % 500}@bench.example"},
            kith.SYSTEM,
        )
        if i % 500 == 0:
            print(f"\r  tickets {i:,}/{n:,}", end="", file=sys.stderr, flush=True)
    await app.drain()
    print(f"\r  {n:,} open tickets        ", file=sys.stderr)


async def timed(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> float:
    start = time.perf_counter()
    response = await client.request(method, url, **kw)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return elapsed


async def run(deals: int, tickets: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = kith.Settings(
            database_url=url,
            plugins_file="/nonexistent",
            secret_key="bench" * 8,
            load_entry_points=False,
        )
        plugins = PluginsFile(settings={"api": {"rate_limit": 10**9}})
        app = kith.Kith(settings, plugins_file=plugins)
        migrate(url, app.hooks.tables())
        async with app:
            users = []
            for i in range(5):
                users.append(
                    await app.run(
                        "user.create",
                        {"email": f"rep{i}@bench.example", "name": f"Rep {i}", "role": "agent"},
                        kith.SYSTEM,
                    )
                )
            agent = users[0]
            await app.run(
                "user.set_password", {"user": agent.id, "password": PASSWORD}, kith.SYSTEM
            )
            token = (
                await app.run("token.create", {"user": agent.id, "name": "bench"}, kith.SYSTEM)
            ).token
            await load_deals(app, deals, [u.id for u in users])
            await load_tickets(app, tickets, agent)
            web = create_app(app, manage_lifecycle=False, run_jobs=False)
            transport = httpx.ASGITransport(app=web)
            async with httpx.AsyncClient(transport=transport, base_url="http://b.test") as c:
                login = await c.post(
                    "/admin/login", data={"email": agent.email, "password": PASSWORD}
                )
                assert login.status_code == 303, login.text
                bearer = {"Authorization": f"Bearer {token}"}
                cases = {
                    "board page": ("GET", "/admin/board", {}),
                    "board JSON": (
                        "POST",
                        "/api/v1/commands/deal.board",
                        {"json": {"per_column": 50}, "headers": bearer},
                    ),
                    "queue page": ("GET", "/admin/tickets?queue=open", {}),
                    "queue JSON": (
                        "POST",
                        "/api/v1/commands/ticket.queue",
                        {"json": {"queue": "open", "limit": 50}, "headers": bearer},
                    ),
                    "queue counts JSON": (
                        "POST",
                        "/api/v1/commands/ticket.queues",
                        {"json": {}, "headers": bearer},
                    ),
                }
                times: dict[str, list[float]] = {k: [] for k in cases}
                for method, path, kw in cases.values():  # warm up
                    await timed(c, method, path, **kw)
                for _ in range(requests):
                    for name, (method, path, kw) in cases.items():
                        times[name].append(await timed(c, method, path, **kw))
        queue_json = [
            a + b for a, b in zip(times["queue JSON"], times["queue counts JSON"], strict=True)
        ]
        times["queue JSON (both)"] = queue_json
        print(
            f"\nAdmin pages on SQLite: {deals:,} open deals, {tickets:,} open tickets, "
            f"{requests} requests each"
        )
        print(f"{'':22}{'p50 ms':>9}{'p99 ms':>9}")
        for name in ("board page", "board JSON", "queue page", "queue JSON (both)"):
            values = times[name]
            print(f"{name:22}{statistics.median(values):9.1f}{percentile(values, 0.99):9.1f}")
        for page, json_name in (("board page", "board JSON"), ("queue page", "queue JSON (both)")):
            p99 = percentile(times[page], 0.99)
            ratio = statistics.median(times[page]) / statistics.median(times[json_name])
            ok = "met" if p99 < 150 and ratio <= 2 else "missed"
            print(
                f"{page}: p99 {p99:.1f} ms (target < 150), page/JSON p50 ratio {ratio:.2f}x "
                f"(target <= 2x): {ok}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--deals", type=int)
    parser.add_argument("--tickets", type=int)
    parser.add_argument("--requests", type=int)
    args = parser.parse_args()
    deals = args.deals or (1000 if args.quick else 5000)
    tickets = args.tickets or (1000 if args.quick else 10_000)
    requests = args.requests or (60 if args.quick else 200)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(run(deals, tickets, requests))


if __name__ == "__main__":
    main()
