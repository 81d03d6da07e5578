"""Service benchmark: the "breaching in the next hour" queue over many open tickets, and the
number of jobs the SLA engine keeps scheduled, against a baseline of the same run.

* Tickets: S tickets go through the plugin's commands (``ticket.customer_message``, some
  replied to, some set pending, over three days of a moving clock) — these show how many
  ``service.sla`` jobs the engine keeps (one per ticket at most: a job per ticket, moved,
  never one per clock or per check). The rest, up to N open tickets, are bulk-loaded with
  the due times the plugin's own SLA code computes (mixed policies: Gold for one
  organization tier, Standard for the rest; three calendars: Paris office hours with a
  holiday, New York long days, around the clock; four priorities; new/open/pending).
* Queue: ``ticket.queue`` ``breaching_soon`` within 60 minutes (count and first page of 50)
  against the same answer as one raw SQL statement over the precomputed due times
  (the page with the count as a subquery), medians of the same number of runs, interleaved.

Usage::

    .venv/bin/python bench/sla.py                  # 100,000 open tickets, 2,000 via commands
    .venv/bin/python bench/sla.py --quick          # 10,000 open tickets, 300 via commands
    .venv/bin/python bench/sla.py --db sqlite      # one backend

Prints a table and the ratios (targets: the queue <= 2x the raw statement; at most one SLA
job per ticket).
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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import kith
from kith.migrate import migrate
from kith.plugins.service.sla.calendar import BusinessCalendar
from kith.plugins.service.sla.clocks import new_clocks, sync
from kith.plugins.service.sla.engine import TicketSla, week_from_json
from kith.plugins.service.sla.policy import PRIORITIES, Policy, PolicyRules
from kith.plugins.service.tables import Calendar, Holiday, SlaPolicy, TicketState
from kith.settings import PluginsFile

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICE_APPS = ["kith.automations.piccolo_app", "kith.plugins.service.piccolo_app"]
AGENTS = 12
NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # a Wednesday afternoon
SPAN_MINUTES = 3 * 24 * 60  # tickets were opened over the last three days
WITHIN = 60
PAGE = 50
TEAMS = {
    "Support EU": ("Paris office", "Europe/Paris", {"mon-fri": "09:00-18:00"}),
    "Support US": ("New York", "America/New_York", {"mon-fri": "08:00-20:00"}),
    "Premium": ("Around the clock", "UTC", {"mon-sun": "00:00-24:00"}),
}
HOLIDAY = date(2026, 3, 2)  # a Monday off in Paris, inside the three days


@dataclass
class Result:
    backend: str
    tickets: int
    via_commands: int
    sla_jobs: int
    max_jobs_per_ticket: int
    breaching: int
    queue_ms: float
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
        migrate(self.url, SERVICE_APPS)
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._pg_name:
            import asyncpg

            conn = await asyncpg.connect(self.pg_admin_url)
            await conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            await conn.close()


def app_for(url: str, clock: kith.FrozenClock) -> kith.Kith:
    plugins = PluginsFile(enabled={"service": True, "sales": False})
    settings = kith.Settings(database_url=url, plugins_file="/nonexistent/plugins.toml")
    return kith.Kith(settings, plugins_file=plugins, clock=clock)


async def setup_desk(app: kith.Kith) -> dict[str, Any]:
    """Agents, three teams with their calendars, a Gold and a Standard policy, a Gold org."""
    run = app.run
    agents = []
    for i in range(AGENTS):
        user = await run(
            "user.create", {"email": f"agent{i}@bench.example", "name": f"Agent {i}"}, kith.SYSTEM
        )
        agents.append(user.id)
    teams: dict[str, int] = {}
    for n, (team, (calendar, zone, hours)) in enumerate(TEAMS.items()):
        members = agents[n * 4 : (n + 1) * 4]
        teams[team] = (await run("team.create", {"name": team, "members": members}, kith.SYSTEM)).id
        holidays = [{"date": HOLIDAY.isoformat(), "name": "Bench day"}] if n == 0 else []
        await run(
            "calendar.create",
            {"name": calendar, "time_zone": zone, "hours": hours, "holidays": holidays},
            kith.SYSTEM,
        )
        await run("service_team.configure", {"team": team, "calendar": calendar}, kith.SYSTEM)
    await run(
        "custom_field.define",
        {
            "entity": "organization",
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "options": ["Gold", "Silver"],
        },
        kith.SYSTEM,
    )
    gold_org = await run(
        "organization.create",
        {"name": "Initech", "domain": "initech.example", "custom": {"tier": "Gold"}},
        kith.SYSTEM,
    )
    await run(
        "sla_policy.create",
        {
            "name": "Gold",
            "tier": "gold",
            "position": 1,
            "targets": {
                "low": {"first_response": "4h", "next_response": "8h", "resolution": "40h"},
                "normal": {"first_response": "1h", "next_response": "2h", "resolution": "8h"},
                "high": {"first_response": "30m", "next_response": "1h", "resolution": "4h"},
                "urgent": {"first_response": "15m", "next_response": "30m", "resolution": "2h"},
            },
            "escalation": [
                {"on": "breach", "after": 0, "actions": [{"type": "assign_lead"}]},
                {"on": "breach", "after": "1h", "actions": [{"type": "raise_priority"}]},
            ],
        },
        kith.SYSTEM,
    )
    await run(
        "sla_policy.create",
        {
            "name": "Standard",
            "position": 2,
            "targets": {
                p: {"first_response": t, "resolution": r}
                for p, t, r in (
                    ("low", "24h", "80h"),
                    ("normal", "8h", "40h"),
                    ("high", "4h", "16h"),
                    ("urgent", "1h", "8h"),
                )
            },
        },
        kith.SYSTEM,
    )
    await app.drain()
    return {"agents": agents, "teams": teams, "gold_org": gold_org.id}


async def through_commands(app: kith.Kith, clock: kith.FrozenClock, desk: dict, n: int) -> None:
    """``n`` tickets the way agents make them, over three days ending at NOW."""
    rnd = random.Random(7)
    offsets = sorted((rnd.randrange(SPAN_MINUTES) for _ in range(n)), reverse=True)
    agent = kith.Actor(user_id=desk["agents"][0], role="agent", name="Agent 0", via="bench")
    for i, minutes in enumerate(offsets):
        clock.set(NOW - timedelta(minutes=minutes))
        domain = "initech.example" if i % 5 == 0 else "mail.example"
        opened = await app.run(
            "ticket.customer_message",
            {
                "from": f"customer{i}@{domain}",
                "subject": f"Problem {i}",
                "body": "It does not work.",
                "priority": rnd.choice(PRIORITIES),
                "team": rnd.choice(list(desk["teams"].values())),
            },
            kith.SYSTEM,
        )
        number = opened.ticket.id
        roll = rnd.random()
        if roll < 0.4:
            clock.advance(minutes=rnd.randrange(5, 90))
            await app.run("ticket.reply", {"ticket": number, "body": "Looking into it."}, agent)
        if roll < 0.15:
            await app.run("ticket.set_status", {"ticket": number, "status": "pending"}, agent)
    clock.set(NOW)
    await app.drain()


def bulk_state(
    rnd: random.Random,
    policy: Policy,
    calendar: BusinessCalendar,
    priority: str,
    status: str,
    created: datetime,
) -> dict[str, Any]:
    """The state row the plugin would hold at NOW: clocks started at ``created`` and
    counting in ``status``, breaches past due recorded (as the ticket's job would have)."""
    sla = TicketSla(policy, calendar, new_clocks())
    for metric in ("first_response", "resolution"):
        sla.clocks[metric].start(created)
    sla.retarget(priority)
    sync(sla.clocks, calendar, "new", created)
    first_response_at = None
    if status != "new" and rnd.random() < 0.6:
        first_response_at = min(created + timedelta(minutes=rnd.randrange(5, 120)), NOW)
        sla.clocks["first_response"].meet(calendar, first_response_at)
    sync(sla.clocks, calendar, status, NOW)
    for clock in sla.tracked():
        due = clock.due_at(calendar)
        if due is not None and due <= NOW:
            clock.warned_at = clock.breached_at = due
    columns = sla.columns()
    columns["first_response_at"] = first_response_at
    return columns


async def bulk_load(app: kith.Kith, desk: dict, n: int) -> None:
    """``n`` more open tickets with their precomputed SLA state (mixed policies/calendars)."""
    if n <= 0:
        return
    codec_p = app.db.statements.codec(SlaPolicy)
    policies: dict[str, tuple[int, Policy]] = {}
    for r in await app.db.fetch('SELECT "id", "name", "rules" FROM "service_sla_policies"'):
        r = codec_p.decode(r)
        rules = PolicyRules.model_validate(r["rules"])
        policies[r["name"]] = (r["id"], Policy(r["id"], r["name"], rules))
    calendars: dict[int, tuple[int, BusinessCalendar]] = {}
    holidays = await app.db.fetch('SELECT "calendar_id", "day" FROM "service_holidays"')
    codec_h = app.db.statements.codec(Holiday)
    settings_rows = await app.db.fetch(
        'SELECT s."team_id", c."id", c."time_zone", c."hours" FROM "service_team_settings" s '
        'JOIN "service_calendars" c ON c."id" = s."calendar_id"'
    )
    codec_c = app.db.statements.codec(Calendar)
    for r in settings_rows:
        r = codec_c.decode(r)
        days = frozenset(codec_h.decode(h)["day"] for h in holidays if h["calendar_id"] == r["id"])
        week = week_from_json(r["hours"])
        calendars[r["team_id"]] = (r["id"], BusinessCalendar(r["time_zone"], week, days))
    team_agents = {
        team: desk["agents"][i * 4 : (i + 1) * 4] for i, team in enumerate(desk["teams"].values())
    }
    t_cols = [
        "subject",
        "organization_id",
        "status",
        "priority",
        "assignee_id",
        "team_id",
        "channel",
        "custom",
        "created_at",
        "updated_at",
    ]
    s_cols = [
        "ticket_id",
        "policy_id",
        "calendar_id",
        "clocks",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
        "next_breach_at",
        "breached_at",
        "next_check_at",
        "escalation",
        "first_response_at",
        "created_at",
        "updated_at",
    ]
    t_sql = app.db.statements.insert(kith.Ticket, t_cols, returning=False)
    s_sql = app.db.statements.insert(TicketState, s_cols, returning=False)
    t_codec = app.db.statements.codec(kith.Ticket)
    s_codec = app.db.statements.codec(TicketState)
    rnd = random.Random(42)
    done = 0
    while done < n:
        size = min(5_000, n - done)
        tickets, states = [], []
        for _ in range(size):
            team = rnd.choice(list(desk["teams"].values()))
            calendar_id, calendar = calendars[team]
            gold = rnd.random() < 0.2
            policy_id, policy = policies["Gold" if gold else "Standard"]
            priority = rnd.choices(PRIORITIES, weights=(2, 5, 2, 1))[0]
            status = rnd.choices(("new", "open", "pending"), weights=(2, 5, 2))[0]
            created = NOW - timedelta(minutes=rnd.randrange(SPAN_MINUTES))
            values = {
                "subject": "Bulk ticket",
                "organization_id": desk["gold_org"] if gold else None,
                "status": status,
                "priority": priority,
                "assignee_id": None if status == "new" else rnd.choice(team_agents[team]),
                "team_id": team,
                "channel": "bench",
                "custom": {},
                "created_at": created,
                "updated_at": created,
            }
            tickets.append([t_codec.encode(c, values[c]) for c in t_cols])
            state = bulk_state(rnd, policy, calendar, priority, status, created)
            state.update(
                {
                    "policy_id": policy_id,
                    "calendar_id": calendar_id,
                    "created_at": created,
                    "updated_at": NOW,
                }
            )
            states.append(state)
        async with app.db.transaction() as tx:
            tx.defer_many(t_sql, tickets)
        ids = [
            r["id"]
            for r in await app.db.fetch(
                'SELECT "id" FROM "tickets" WHERE "channel" = \'bench\' ORDER BY "id" DESC '
                f"LIMIT {size}"
            )
        ][::-1]
        rows = []
        for ticket_id, state in zip(ids, states, strict=True):
            state["ticket_id"] = ticket_id
            rows.append([s_codec.encode(c, state[c]) for c in s_cols])
        async with app.db.transaction() as tx:
            tx.defer_many(s_sql, rows)
        done += size
    await app.db.execute_script("ANALYZE")


async def count_jobs(app: kith.Kith) -> tuple[int, int]:
    """Scheduled SLA jobs, and the most any one ticket has."""
    rows = await app.db.fetch(
        'SELECT "key", COUNT(*) AS n FROM "jobs" WHERE "name" = \'service.sla\' '
        'AND "status" = \'scheduled\' GROUP BY "key"'
    )
    return sum(int(r["n"]) for r in rows), max((int(r["n"]) for r in rows), default=0)


def raw_sql(app: kith.Kith) -> str:
    """The baseline: count and first page of the queue (the same columns) in one statement
    (the count an uncorrelated subquery), rows as the driver returns them (no decoding, no
    validation, no permission check)."""
    marks = app.db.statements.placeholders(5)
    where = 'WHERE s."next_breach_at" >= {} AND s."next_breach_at" < {} '
    return (
        'SELECT t."id", t."subject", t."status", t."priority", t."assignee_id", t."team_id", '
        't."requester_id", t."created_at", t."updated_at", s."next_breach_at", s."breached_at", '
        's."first_response_due_at", s."next_response_due_at", s."resolution_due_at", '
        f'(SELECT COUNT(*) FROM "service_ticket_state" s {where.format(marks[0], marks[1])}) '
        'AS total FROM "service_ticket_state" s JOIN "tickets" t ON t."id" = s."ticket_id" '
        f"{where.format(marks[2], marks[3])}"
        f'ORDER BY s."next_breach_at", t."id" LIMIT {marks[4]}'
    )


async def bench_queue(app: kith.Kith, manager: kith.Actor, repeat: int) -> tuple[int, float, float]:
    """(tickets breaching within the hour, median ms of ticket.queue, of the raw statement)."""
    codec = app.db.statements.codec(TicketState)
    window = [
        codec.encode("next_breach_at", NOW),
        codec.encode("next_breach_at", NOW + timedelta(minutes=WITHIN)),
    ]
    params = [*window, *window, PAGE]
    sql = raw_sql(app)
    payload = {"queue": "breaching_soon", "within_minutes": WITHIN, "limit": PAGE}
    out = await app.run("ticket.queue", payload, manager)
    rows = await app.db.fetch(sql, params)
    raw_total = int(rows[0]["total"]) if rows else 0
    if out.count != raw_total or [t.id for t in out.tickets] != [r["id"] for r in rows]:
        raise SystemExit(f"ticket.queue and the raw statement disagree: {out.count} {raw_total}")

    async def command() -> None:
        await app.run("ticket.queue", payload, manager)

    async def raw() -> None:
        await app.db.fetch(sql, params)

    timings: dict[str, list[float]] = {"command": [], "raw": []}
    for _ in range(repeat):
        for name, fn in (("raw", raw), ("command", command)):
            t0 = time.perf_counter()
            await fn()
            timings[name].append((time.perf_counter() - t0) * 1000)
    return out.count, statistics.median(timings["command"]), statistics.median(timings["raw"])


async def run_backend(backend: str, tickets: int, sample: int, repeat: int, pg: str) -> Result:
    async with Database(backend, pg) as url:
        clock = kith.FrozenClock(NOW - timedelta(minutes=SPAN_MINUTES + 60))
        app = app_for(url, clock)
        async with app:
            desk = await setup_desk(app)
            await through_commands(app, clock, desk, sample)
            jobs, most = await count_jobs(app)
            await bulk_load(app, desk, tickets - sample)
            manager = kith.Actor(user_id=desk["agents"][0], role="manager", name="M", via="bench")
            breaching, queue_ms, raw_ms = await bench_queue(app, manager, repeat)
    return Result(backend, tickets, sample, jobs, most, breaching, queue_ms, raw_ms)


def report(results: list[Result]) -> str:
    lines = [
        "| backend | open tickets | via commands | SLA jobs scheduled | most jobs per ticket | "
        "breaching within 1h | ticket.queue ms | raw statement ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.tickets:,} | {r.via_commands:,} | {r.sla_jobs:,} | "
            f"{r.max_jobs_per_ticket} | {r.breaching:,} | {r.queue_ms:.2f} | {r.raw_ms:.2f} | "
            f"{r.queue_ms / r.raw_ms:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 tickets, 300 via commands")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--via-commands", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None, help="queue timings per side")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    args = parser.parse_args(argv)
    tickets = args.tickets or (10_000 if args.quick else 100_000)
    sample = min(args.via_commands or (300 if args.quick else 2_000), tickets)
    repeat = args.repeat or (15 if args.quick else 31)
    results = [
        asyncio.run(run_backend(b.strip(), tickets, sample, repeat, args.pg_url))
        for b in args.db.split(",")
        if b.strip()
    ]
    print(report(results))
    for r in results:
        ok_queue = r.queue_ms <= 2 * r.raw_ms
        ok_jobs = r.max_jobs_per_ticket <= 1 and r.sla_jobs <= r.via_commands
        print(
            f"{r.backend}: queue {'OK' if ok_queue else 'ABOVE'} target (<= 2x the raw "
            f"statement), jobs {'OK' if ok_jobs else 'ABOVE'} target (at most one per ticket)",
            file=sys.stderr,
        )
    return results


if __name__ == "__main__":
    main()
