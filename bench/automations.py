"""Automations: how fast the engine evaluates events, and how soon their actions happen.

Two apps on copies of the same seeded database, the same workload of N commands
(``deal.update``, ``contact.update``, ``activity.log``; one event each) through ``Kith.run``,
with the embedded job runner on and the system clock, in alternating chunks (ABBA, so a
change in the machine's load weighs on both alike):

* **baseline**: the event bus with no automations (the engine is loaded, none is enabled);
* **automations**: 20 enabled automations listening to those events (8 on ``deal.updated``,
  6 on ``contact.updated``, 5 on ``activity.logged``, 1 "matches for 14 days" on deals),
  their conditions reading the record, related records and the event's changes; a few per
  cent of the events start a run (create a task or request a Slack post).

Figures: wall time of the chunks until every event was delivered (and evaluated, runs
started and performed meanwhile by the runner), as a ratio to the baseline; after each chunk
the runs still pending are let finish (``settle``); evaluation throughput = events / time
spent inside the engine's ``on_event``;
end-to-end action lag = run finished - command committed, p50 / p99, with the job runner
working concurrently. Targets (SQLite): >= 2,000 events/s evaluated and <= 1.5x the
baseline's time.

    .venv/bin/python bench/automations.py              # N=50,000 on SQLite
    .venv/bin/python bench/automations.py --quick      # smoke run (N=2,000)
    .venv/bin/python bench/automations.py --db postgres --n 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from kith import SYSTEM, Kith, Settings
from kith.automations import engine as engine_module
from kith.migrate import migrate
from kith.settings import PluginsFile
from kith.tables import Job

PG_ADMIN_URL = os.environ.get("KITH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_RATE = 2000.0
TARGET_RATIO = 1.5
DEALS = 1000
CONTACTS = 1000
AGENTS = 5


def _automation(name: str, when: Any, condition: Any, then: list[dict[str, Any]]) -> str:
    return json.dumps({"name": name, "when": when, "if": condition, "then": then})


SLACK = [{"post_to_slack": {"channel": "#bench", "text": "{{ record.id }} needs a look"}}]
TASK = [{"create_task": {"title": "Look at #{{ record.id }}", "due": "+1 business day"}}]

AUTOMATIONS = [
    # deal.updated (8)
    _automation(
        "Big deal changed value",
        "deal.updated",
        {"all": [{"field": "value", "changed": True}, {"field": "value", "greater_than": 90000}]},
        TASK,
    ),
    _automation("Urgent deals", "deal.updated", {"field": "title", "contains": "urgent"}, SLACK),
    _automation("Deals without owner", "deal.updated", {"field": "owner", "empty": True}, SLACK),
    _automation(
        "Closing soon",
        "deal.updated",
        {
            "all": [
                {"field": "expected_close", "before": "+7 days"},
                {"field": "status", "equals": "open"},
            ]
        },
        SLACK,
    ),
    _automation(
        "Likely wins", "deal.updated", {"field": "stage.probability", "at_least": 90}, SLACK
    ),
    _automation(
        "Agent 1's big retitled deals",
        "deal.updated",
        {
            "all": [
                {"field": "owner.email", "equals": "agent1@bench.example.com"},
                {"field": "title", "changed": True},
                {"field": "value", "greater_than": 99000},
            ]
        },
        SLACK,
    ),
    _automation(
        "Banking deals",
        "deal.updated",
        {"field": "organization.industry", "equals": "Banking"},
        SLACK,
    ),
    _automation(
        "Foreign currency", "deal.updated", {"field": "currency", "not_equals": "EUR"}, SLACK
    ),
    # contact.updated (6)
    _automation(
        "New customers",
        "contact.updated",
        {"field": "lifecycle_stage", "changed_to": "customer"},
        [{"create_task": {"title": "Onboard {{ contact.name }}", "due": "+2 business days"}}],
    ),
    _automation(
        "Contacts without email", "contact.updated", {"field": "email", "empty": True}, SLACK
    ),
    _automation("CEOs", "contact.updated", {"field": "title", "equals": "CEO"}, SLACK),
    _automation(
        "DACH and France",
        "contact.updated",
        {"field": "organization.country", "in": ["FR", "DE"]},
        SLACK,
    ),
    _automation("VIPs", "contact.updated", {"field": "name", "starts_with": "VIP"}, SLACK),
    _automation(
        "Unowned contacts",
        "contact.updated",
        {"any": [{"field": "owner", "empty": True}, {"field": "phone", "empty": True}]},
        SLACK,
    ),
    # activity.logged (5)
    _automation(
        "Long meetings",
        "activity.logged",
        {
            "all": [
                {"field": "kind", "equals": "meeting"},
                {"field": "duration_seconds", "greater_than": 3000},
            ]
        },
        SLACK,
    ),
    _automation("Lost calls", "activity.logged", {"field": "outcome", "equals": "lost"}, SLACK),
    _automation(
        "Calls on huge deals",
        "activity.logged",
        {"field": "deal.value", "greater_than": 99900},
        SLACK,
    ),
    _automation("Inbound", "activity.logged", {"field": "direction", "equals": "inbound"}, SLACK),
    _automation(
        "Pricing questions",
        "activity.logged",
        {"field": "subject", "contains": "pricing"},
        [{"create_task": {"title": "Send pricing ({{ activity.subject }})"}}],
    ),
    # matches for (1)
    _automation(
        "Huge deals idle for 14 days",
        {"matches_for": "14 days", "entity": "deal"},
        {"field": "value", "greater_than": 99500},
        TASK,
    ),
]


def command_for(i: int, deal_ids: list[int], contact_ids: list[int]) -> tuple[str, dict[str, Any]]:
    """The i-th command of the workload (deterministic)."""
    kind = i % 10
    if kind < 5:
        deal = deal_ids[(i * 7) % len(deal_ids)]
        payload: dict[str, Any] = {"deal": deal, "title": f"Deal {deal} v{i}"}
        if i % 4 == 0:
            payload["value"] = str(1000 + (i * 37) % 99_000)
        return "deal.update", payload
    if kind < 8:
        contact = contact_ids[(i * 11) % len(contact_ids)]
        payload = {"contact": contact, "title": f"Title {i % 97}"}
        if i % 20 == 5:
            payload["lifecycle_stage"] = "customer" if i % 40 == 5 else "lead"
        return "contact.update", payload
    deal = deal_ids[(i * 13) % len(deal_ids)]
    return "activity.log", {
        "kind": "meeting" if i % 3 == 0 else "call",
        "subject": "pricing question" if i % 50 == 8 else f"Follow-up {i}",
        "duration": (i * 17) % 3600,
        "direction": "outbound",
        "deal": deal,
    }


# ---- databases ---------------------------------------------------------------------------------


class Databases:
    """A seeded template database, copied fresh for each pass."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.created: list[str] = []

    async def fresh(self) -> str:
        if self.backend == "sqlite":
            path = self.tmp / f"{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self.tmp / "template.db", path)
            return f"sqlite:///{path}"
        name = f"kith_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def template(self, plugin_apps: list[str]) -> str:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / 'template.db'}"
        else:
            self.template_name = f"kith_bench_tpl_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(PG_ADMIN_URL)
            try:
                await conn.execute(f'CREATE DATABASE "{self.template_name}"')
            finally:
                await conn.close()
            self.created.append(self.template_name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.template_name}"
        await asyncio.to_thread(migrate, url, plugin_apps)
        return url

    async def drop(self) -> None:
        if self.backend != "postgres":
            return
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            for name in reversed(self.created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def _kith(url: str) -> Kith:
    """The core and its automations engine only: the bundled plugins' own event handlers
    and follow-up jobs (sales…) would weigh on both sides and blur the comparison."""
    from kith.plugins_manager import BUNDLED_PLUGINS

    return Kith(
        Settings(database_url=url, plugins_file="/nonexistent/plugins.toml"),
        plugins_file=PluginsFile(
            enabled=dict.fromkeys(BUNDLED_PLUGINS, False),
            settings={"automations": {"runs_per_record_per_hour": 1000}},
        ),
    )


async def seed(url: str) -> None:
    """Users, a team, a pipeline, contacts and deals (committed into the template)."""
    kith = _kith(url)
    await kith.start()
    try:
        run = kith.run
        admin = await run(
            "user.create", {"email": "bench@example.com", "name": "Bench", "role": "admin"}, SYSTEM
        )
        agents = []
        for a in range(1, AGENTS + 1):
            user = await run(
                "user.create",
                {"email": f"agent{a}@bench.example.com", "name": f"Agent {a}"},
                SYSTEM,
            )
            agents.append(user.id)
        await run("team.create", {"name": "Sales", "lead": admin.id, "members": agents}, SYSTEM)
        await run(
            "pipeline.create",
            {
                "name": "Sales",
                "stages": [
                    {"name": n, "probability": p}
                    for n, p in (("Lead", 10), ("Discovery", 30), ("Proposal", 60))
                ],
            },
            SYSTEM,
        )
        for c in range(CONTACTS):
            await run(
                "contact.create",
                {
                    "name": f"Contact {c}",
                    "email": f"c{c}@bench.example.com",
                    "phone": "+33 1 00",
                    "owner": agents[c % AGENTS],
                },
                SYSTEM,
            )
        for d in range(DEALS):
            await run(
                "deal.create",
                {
                    "title": f"Deal {d}",
                    "value": str(1000 + (d * 53) % 99_000),
                    "owner": agents[d % AGENTS],
                },
                SYSTEM,
            )
        await kith.drain()
    finally:
        await kith.stop()


# ---- one pass ----------------------------------------------------------------------------------


@dataclass
class Pass:
    label: str
    events: int = 0
    seconds: float = 0.0  # commands issued → every event delivered and evaluated
    settle_seconds: float = 0.0  # … → every run finished too
    engine_seconds: float = 0.0
    engine_events: int = 0
    evaluation_seconds: float = 0.0
    runs: int = 0
    lags_ms: list[float] = field(default_factory=list)
    timing: bool = False
    cpu_seconds: float = 0.0  # CPU of the whole process during the chunks
    engine_cpu_seconds: float = 0.0  # CPU of the event loop's thread inside on_event

    def as_dict(self) -> dict[str, Any]:
        out = {
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events / self.seconds, 1),
            "settle_seconds": round(self.settle_seconds, 3),
            "engine_seconds": round(self.engine_seconds, 3),
            "evaluated_per_s": round(self.engine_events / self.engine_seconds, 1)
            if self.engine_seconds
            else None,
            "evaluation_seconds": round(self.evaluation_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "engine_cpu_seconds": round(self.engine_cpu_seconds, 3),
            "runs": self.runs,
        }
        if self.lags_ms:
            lags = sorted(self.lags_ms)
            out["lag_p50_ms"] = round(statistics.median(lags), 1)
            out["lag_p99_ms"] = round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 1)
            out["lag_max_ms"] = round(lags[-1], 1)
        return out


ENGINE = engine_module.Engine
ORIGINALS = {name: getattr(ENGINE, name) for name in ("on_event", "plan", "_watch")}


def _instrument(passes: dict[int, Pass]) -> None:
    """Time each app's engine: everything it does per event (``on_event``, including
    writing the runs it starts), and the evaluation alone (``plan`` and ``_watch``)."""

    async def on_event(self: Any, event: Any) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            await ORIGINALS["on_event"](self, event)
        finally:
            p = passes.get(id(self.kith))
            if p is not None and p.timing:
                p.engine_seconds += time.perf_counter() - started
                p.engine_cpu_seconds += time.thread_time() - cpu
                p.engine_events += 1

    def evaluation(name: str) -> Any:
        async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await ORIGINALS[name](self, *args, **kwargs)
            finally:
                p = passes.get(id(self.kith))
                if p is not None and p.timing:
                    p.evaluation_seconds += time.perf_counter() - started

        return timed

    ENGINE.on_event = on_event  # type: ignore[method-assign]
    ENGINE.plan = evaluation("plan")  # type: ignore[method-assign]
    ENGINE._watch = evaluation("_watch")  # type: ignore[method-assign]


def _restore() -> None:
    for name, fn in ORIGINALS.items():
        setattr(ENGINE, name, fn)


class Side:
    """One app (its own database) of the comparison."""

    def __init__(self, label: str, url: str, automations: bool) -> None:
        self.p = Pass(label)
        self.kith = _kith(url)
        self.automations = automations
        self.first_run = 0
        self.deal_ids: list[int] = []
        self.contact_ids: list[int] = []

    async def start(self) -> None:
        kith = self.kith
        await kith.start(run_jobs=True)
        if self.automations:
            for text in AUTOMATIONS:
                await kith.run(
                    "automation.create", {"definition": json.loads(text), "enabled": True}, SYSTEM
                )
            await kith.drain()
            await self.settle()  # the matches_for scan
        rows = await kith.db.fetch('SELECT "id" FROM "deals" ORDER BY "id"')
        self.deal_ids = [r["id"] for r in rows]
        rows = await kith.db.fetch('SELECT "id" FROM "contacts" ORDER BY "id"')
        self.contact_ids = [r["id"] for r in rows]
        row = await kith.db.fetchone('SELECT COALESCE(MAX("id"), 0) AS n FROM "automation_runs"')
        self.first_run = row["n"] if row else 0

    async def settle(self) -> None:
        while await _pending_jobs(self.kith):  # noqa: ASYNC110 - polling the jobs table
            await asyncio.sleep(0.01)

    async def chunk(self, indexes: range) -> None:
        """Run these commands, deliver their events; then let the runs finish (counted
        apart: ``settle_seconds``)."""
        p = self.p
        p.timing = True
        started, cpu = time.perf_counter(), time.process_time()
        for i in indexes:
            name, payload = command_for(i, self.deal_ids, self.contact_ids)
            await self.kith.run(name, payload, SYSTEM)
        await self.kith.drain()
        done = time.perf_counter()
        p.seconds += done - started
        p.cpu_seconds += time.process_time() - cpu
        p.timing = False
        await self.settle()
        p.settle_seconds += time.perf_counter() - started
        p.events += len(indexes)

    async def stop(self) -> None:
        await _collect_runs(self.kith, self.p, self.first_run)
        await self.kith.stop()


async def compare(base_url: str, auto_url: str, n: int, chunks: int) -> tuple[Pass, Pass]:
    """The same workload on both apps, in alternating chunks (ABBA), so that a change in the
    machine's load during the run weighs on both sides alike."""
    base, auto = Side("baseline", base_url, False), Side("automations", auto_url, True)
    passes = {id(base.kith): base.p, id(auto.kith): auto.p}
    _instrument(passes)
    try:
        await base.start()
        await auto.start()
        size = max(1, n // chunks)
        for k, first in enumerate(range(0, n, size)):
            indexes = range(first, min(n, first + size))
            order = (base, auto) if k % 2 == 0 else (auto, base)
            for side in order:
                await side.chunk(indexes)
            sys.stderr.write(f"  {indexes.stop}/{n} events on each side\n")
    finally:
        _restore()
        await base.stop()
        await auto.stop()
    return base.p, auto.p


async def _pending_jobs(kith: Kith) -> int:
    """Jobs due now or running (a timer due in 14 days is not pending)."""
    codec = kith.db.statements.codec(Job)
    mark = kith.db.statements.placeholders(1)[0]
    row = await kith.db.fetchone(
        'SELECT COUNT(*) AS n FROM "jobs" WHERE "status" = \'running\' '
        f'OR ("status" = \'scheduled\' AND "run_at" <= {mark})',
        [codec.encode("run_at", kith.clock.now())],
    )
    return int(row["n"]) if row else 0


def _as_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def _collect_runs(kith: Kith, p: Pass, after: int) -> None:
    mark = kith.db.statements.placeholders(1)[0]
    rows = await kith.db.fetch(
        f'SELECT "status", "trigger", "finished_at" FROM "automation_runs" WHERE "id" > {mark}',
        [after],
    )
    for row in rows:
        trigger = row["trigger"]
        trigger = json.loads(trigger) if isinstance(trigger, str) else trigger
        event = trigger.get("event") or {}
        if row["status"] != "done" or not event or row["finished_at"] is None:
            continue
        p.runs += 1
        lag = _as_time(row["finished_at"]) - _as_time(event["at"])
        p.lags_ms.append(lag.total_seconds() * 1000)


# ---- main --------------------------------------------------------------------------------------


async def bench(backend: str, n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="kith-bench-auto-"))
    dbs = Databases(backend, tmp)
    try:
        plugin_apps = _kith("sqlite:///:memory:").hooks.tables()
        url = await dbs.template(plugin_apps)
        sys.stderr.write(f"seeding {backend}: {CONTACTS} contacts, {DEALS} deals\n")
        await seed(url)
        baseline, with_automations = await compare(
            await dbs.fresh(), await dbs.fresh(), n, chunks=10 if n >= 10_000 else 4
        )
    finally:
        await dbs.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = with_automations.seconds / baseline.seconds
    cpu_ratio = with_automations.cpu_seconds / baseline.cpu_seconds
    rate = with_automations.engine_events / with_automations.engine_seconds
    return {
        "backend": backend,
        "n": n,
        "automations": len(AUTOMATIONS),
        "baseline": baseline.as_dict(),
        "with_automations": with_automations.as_dict(),
        "ratio": round(ratio, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "cpus": os.cpu_count(),
        "targets": {
            "evaluated_per_s": TARGET_RATE,
            "ratio": TARGET_RATIO,
            "met": backend != "sqlite" or (rate >= TARGET_RATE and ratio <= TARGET_RATIO),
        },
    }


def report(result: dict[str, Any]) -> str:
    b, a = result["baseline"], result["with_automations"]
    lines = [
        f"{result['backend']}: {result['n']:,} events, {result['automations']} automations",
        f"  baseline (bus, no automations): {b['seconds']:.2f} s "
        f"({b['events_per_s']:,.0f} events/s)",
        f"  with automations:               {a['seconds']:.2f} s "
        f"({a['events_per_s']:,.0f} events/s) = {result['ratio']:.2f}x baseline "
        f"(target <= {TARGET_RATIO}x); in CPU time {result['cpu_ratio']:.2f}x",
        f"  evaluated in the engine:        {a['evaluated_per_s']:,.0f} events/s (target >= "
        f"{TARGET_RATE:,.0f}); conditions alone {result['n'] / a['evaluation_seconds']:,.0f}/s; "
        f"per CPU second of the loop {result['n'] / a['engine_cpu_seconds']:,.0f}/s",
        f"  runs: {a['runs']:,} ({a['runs'] / result['n']:.1%} of events); all finished after "
        f"{a['settle_seconds']:.2f} s",
    ]
    if "lag_p99_ms" in a:
        lines.append(
            f"  action lag (commit -> run done): p50 {a['lag_p50_ms']:.0f} ms, "
            f"p99 {a['lag_p99_ms']:.0f} ms, max {a['lag_max_ms']:.0f} ms"
        )
    lines.append(f"  machine load average at the end: {result['load_average']}")
    lines.append("  targets met" if result["targets"]["met"] else "  TARGETS MISSED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="events (commands) per pass")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="a smoke run (N=2,000)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    n = 2000 if args.quick else args.n
    result = asyncio.run(bench(args.db, n))
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0 if result["targets"]["met"] or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
