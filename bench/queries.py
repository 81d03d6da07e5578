"""Queries against a big CRM: ``find``, a list filtered on a custom field, a long timeline.

For each backend (SQLite, PostgreSQL), on a fresh database made with ``kith.migrate.migrate``
and filled with fast bulk SQL (not through commands: the setup is not what is measured):
200,000 contacts (custom fields ``tier`` and ``seats``, one e-mail each), 10,000
organizations, 50,000 deals, 5,000 leads, 5,000 tickets, 50,000 activities, a "created"
history row per contact and deal, and one deal whose timeline holds 500 items (history,
activities, tasks). Then, through ``Kith.run`` as an admin, each measured against the
equivalent single raw SQL query run on the same engine in the same run (interleaved):

* ``find`` with realistic searches (a surname, a prefix, first + last name, a company):
  p50 and p99; raw = one UNION ALL of the five full-text queries;
* ``find`` as an agent whose deals and contacts are "own" (visibility costs);
* ``contact.list`` filtered on a custom choice field, and on a custom number range;
  raw = the same SELECT of the page;
* ``deal.timeline`` of the 500-item deal: the first page (50), and all 500 (3 pages of 200);
  raw = one UNION ALL over history, activities and tasks.

Targets (issue 4): ``find`` p99 < 50 ms; each ≤ 2x its raw query (p50 ratio).

    .venv/bin/python bench/queries.py                # 200,000 contacts, 50,000 deals, both DBs
    .venv/bin/python bench/queries.py --quick        # 20,000 contacts, 5,000 deals
    .venv/bin/python bench/queries.py --db sqlite --contacts 50000 --deals 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from kith import Actor, Kith, Settings
from kith.db.codec import codec_for
from kith.migrate import migrate
from kith.settings import PluginsFile
from kith.tables import (
    Activity,
    Contact,
    ContactEmail,
    CustomFieldDef,
    Deal,
    History,
    Lead,
    Organization,
    Pipeline,
    Stage,
    Task,
    Ticket,
    User,
)

PG_ADMIN_URL = os.environ.get("KITH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgres")
TARGET_FIND_P99_MS = 50.0
TARGET_RATIO = 2.0
TIERS = (("Bronze", 60), ("Silver", 30), ("Gold", 8), ("Platinum", 2))
FIRST = (
    "Ada Alan Grace Katherine Linus Margaret Tim Barbara Dennis Radia Ken Frances Edsger Hedy "
    "Claude Sophie John Mary Ivan Lucia Omar Priya Wei Amara Lars Ines Mateo Yara Noah Elif "
    "Hugo Lena Tariq Mei Jonas Zofia Diego Aiko Samuel Freya"
).split()
SYLLABLES = (
    "ka lo ve la ce mar tin ber ro sa no vi tek an dor el mi ra stu gen ha wel ko ri fa zu "
    "bel qui ot ser pa lin dra mo nes hil gar"
).split()
ORG_WORDS = "Initech Globex Umbrella Hooli Vandelay Stark Wayne Cyberdyne Tyrell Wonka".split()
PLANS = ("Pro", "Enterprise", "Starter", "Add-on")


@dataclass
class Sizes:
    contacts: int = 200_000
    deals: int = 50_000
    timeline_items: int = 500
    iterations: int = 200

    @property
    def organizations(self) -> int:
        return max(10, self.contacts // 20)

    @property
    def side(self) -> int:
        """Leads and tickets each."""
        return max(10, self.contacts // 40)

    @property
    def activities(self) -> int:
        return max(10, self.contacts // 4)


def surname(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3)))).capitalize()


# ---- data -------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Rows per table (column → value dicts, in insert order) and what to search for."""

    rows: dict[type, list[dict[str, Any]]] = field(default_factory=dict)
    searches: list[str] = field(default_factory=list)
    timeline_deal: int = 1
    agent_id: int = 2


def build(sizes: Sizes, seed: int = 42) -> Dataset:
    rng = random.Random(seed)
    base = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    data = Dataset()
    add = data.rows.setdefault

    def stamp(i: int) -> dict[str, Any]:
        at = base + timedelta(seconds=i)
        return {"created_at": at, "updated_at": at, "created_by": None, "archived_at": None}

    users = [
        {
            "id": i,
            "email": f"user{i}@bench.example",
            "name": f"User {i}",
            "role": role,
            "time_zone": "UTC",
            "slack_user_id": None,
            "active": True,
            "custom": {},
            **stamp(i),
        }
        for i, role in [(1, "admin")] + [(i, "agent") for i in range(2, 21)]
    ]
    add(User, users)
    add(
        CustomFieldDef,
        [
            {
                "id": 1,
                "entity": "contact",
                "key": "tier",
                "label": "Tier",
                "type": "choice",
                "options": [t for t, _ in TIERS],
                "required": False,
                "position": 0,
                **stamp(0),
            },
            {
                "id": 2,
                "entity": "contact",
                "key": "seats",
                "label": "Seats",
                "type": "number",
                "options": [],
                "required": False,
                "position": 1,
                **stamp(0),
            },
        ],
    )
    add(Pipeline, [{"id": 1, "name": "Sales", "is_default": True, "position": 0, **stamp(0)}])
    stage_names = ("Qualification", "Demo", "Proposal", "Negotiation", "Won", "Lost")
    add(
        Stage,
        [
            {
                "id": i + 1,
                "pipeline_id": 1,
                "name": n,
                "position": i,
                "probability": 10 * i,
                "rotting_days": None,
                "kind": "won" if n == "Won" else "lost" if n == "Lost" else "open",
                **stamp(0),
            }
            for i, n in enumerate(stage_names)
        ],
    )
    orgs = []
    for i in range(1, sizes.organizations + 1):
        name = f"{rng.choice(ORG_WORDS)} {surname(rng)}"
        orgs.append(
            {
                "id": i,
                "name": name,
                "domain": f"org{i}.example",
                "industry": "Software",
                "size": "51-200",
                "country": "FR",
                "owner_id": rng.randint(2, 20),
                "custom": {},
                **stamp(i),
            }
        )
    add(Organization, orgs)
    surnames = [surname(rng) for _ in range(20_000)]
    contacts, emails, history = [], [], []
    tier_names = [t for t, w in TIERS for _ in range(w)]
    for i in range(1, sizes.contacts + 1):
        first, last = rng.choice(FIRST), rng.choice(surnames)
        email = f"{first}.{last}{i}@org{rng.randint(1, sizes.organizations)}.example".lower()
        contacts.append(
            {
                "id": i,
                "name": f"{first} {last}",
                "email": email,
                "phone": f"+33 1 {i:08d}",
                "title": None,
                "organization_id": rng.randint(1, sizes.organizations),
                "owner_id": rng.randint(2, 20),
                "lifecycle_stage": "customer",
                "consent": {},
                "custom": {"tier": rng.choice(tier_names), "seats": rng.randint(1, 1000)},
                **stamp(i),
            }
        )
        emails.append(
            {"id": i, "contact_id": i, "email": email, "is_primary": True, "undeliverable": False}
        )
        history.append(_created("contact", i, base + timedelta(seconds=i)))
    add(Contact, contacts)
    add(ContactEmail, emails)
    deals = []
    for i in range(1, sizes.deals + 1):
        org = orgs[rng.randrange(len(orgs))]
        stage = rng.randint(1, 6)
        deals.append(
            {
                "id": i,
                "title": f"{org['name']} — {rng.choice(PLANS)}",
                "value_minor": rng.choice([120000, 480000, 2400000]),
                "currency": "EUR",
                "pipeline_id": 1,
                "stage_id": stage,
                "status": "won" if stage == 5 else "lost" if stage == 6 else "open",
                "owner_id": rng.randint(2, 20),
                "contact_id": rng.randint(1, sizes.contacts),
                "organization_id": org["id"],
                "expected_close": None,
                "close_reason": None,
                "closed_at": None,
                "stage_changed_at": None,
                "next_activity_at": None,
                "custom": {},
                **stamp(i),
            }
        )
        history.append(_created("deal", i, base + timedelta(seconds=i)))
    add(Deal, deals)
    add(
        Lead,
        [
            {
                "id": i,
                "name": f"{rng.choice(FIRST)} {rng.choice(surnames)}",
                "email": None,
                "company": f"{rng.choice(ORG_WORDS)} {surname(rng)}",
                "phone": None,
                "source": "web",
                "status": "new",
                "disqualify_reason": None,
                "owner_id": rng.randint(2, 20),
                "score": 0,
                "contact_id": None,
                "organization_id": None,
                "custom": {},
                **stamp(i),
            }
            for i in range(1, sizes.side + 1)
        ],
    )
    add(
        Ticket,
        [
            {
                "id": i,
                "subject": f"{rng.choice(['Invoice', 'Login', 'Export', 'Webhook'])} problem "
                f"for {rng.choice(surnames)}",
                "requester_id": rng.randint(1, sizes.contacts),
                "organization_id": None,
                "status": "open",
                "priority": "normal",
                "type": None,
                "assignee_id": rng.randint(2, 20),
                "team_id": None,
                "channel": "email",
                "custom": {},
                **stamp(i),
            }
            for i in range(1, sizes.side + 1)
        ],
    )
    # The timeline deal (id 1): history, activities and tasks, 500 items in all.
    n_hist = sizes.timeline_items * 3 // 5
    n_act = sizes.timeline_items * 3 // 10
    n_task = sizes.timeline_items - n_hist - n_act - 1  # + its "created" row
    at = base + timedelta(days=30)
    for j in range(n_hist):
        history.append(
            {
                "at": at + timedelta(minutes=7 * j),
                "actor": "user:2",
                "actor_user_id": 2,
                "command": "deal.update",
                "entity": "deal",
                "entity_id": 1,
                "action": "updated",
                "changes": {"value_minor": [j * 100, (j + 1) * 100]},
            }
        )
    activities = []
    for j in range(n_act):
        activities.append(_activity(len(activities) + 1, 1, at + timedelta(minutes=11 * j)))
    for _ in range(sizes.activities):
        activities.append(
            _activity(
                len(activities) + 1,
                rng.randint(2, sizes.deals),
                base + timedelta(minutes=rng.randint(0, 90_000)),
            )
        )
    add(Activity, activities)
    add(
        Task,
        [
            {
                "id": j + 1,
                "title": f"Follow up {j}",
                "due_at": None,
                "assignee_id": 2,
                "status": "open",
                "completed_at": None,
                "record_type": "deal",
                "record_id": 1,
                "custom": {},
                **stamp(3_000_000 + 13 * 60 * j),
            }
            for j in range(n_task)
        ],
    )
    history.sort(key=lambda h: h["at"])
    for k, h in enumerate(history, 1):
        h["id"] = k
    add(History, history)
    data.searches = _searches(rng, contacts, orgs)
    return data


def _created(entity: str, i: int, at: datetime) -> dict[str, Any]:
    return {
        "at": at,
        "actor": "system",
        "actor_user_id": None,
        "command": f"{entity}.create",
        "entity": entity,
        "entity_id": i,
        "action": "created",
        "changes": {},
    }


def _activity(i: int, deal: int, at: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "kind": "call",
        "subject": f"Call {i}",
        "body": "Talked pricing.",
        "direction": "outbound",
        "duration_seconds": 600,
        "outcome": None,
        "occurred_at": at,
        "user_id": 2,
        "contact_id": None,
        "organization_id": None,
        "deal_id": deal,
        "lead_id": None,
        "ticket_id": None,
        "custom": {},
        "created_at": at,
        "updated_at": at,
        "created_by": 2,
        "archived_at": None,
    }


def _searches(rng: random.Random, contacts: list[dict], orgs: list[dict]) -> list[str]:
    """What people type: a surname, its first letters, first + last name, a company."""
    out = []
    for k in range(400):
        person = rng.choice(contacts)["name"]
        first, last = person.split(" ", 1)
        kind = k % 4
        if kind == 0:
            out.append(last)
        elif kind == 1:
            out.append(last[: max(4, len(last) - 2)])
        elif kind == 2:
            out.append(f"{first} {last}")
        else:
            out.append(rng.choice(orgs)["name"].split()[1])
    return out


# ---- bulk loading --------------------------------------------------------------------------------


def _table_rows(dialect: str, table: type, rows: list[dict[str, Any]]) -> tuple[list[str], list]:
    codec = codec_for(table, dialect)
    cols = list(rows[0])
    if dialect == "sqlite":
        return cols, [[codec.encode(c, r[c]) for c in cols] for r in rows]
    json_cols = codec.json_columns
    return cols, [[json.dumps(r[c]) if c in json_cols else r[c] for c in cols] for r in rows]


def load_sqlite(path: str, data: Dataset) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for table, rows in data.rows.items():
        cols, values = _table_rows("sqlite", table, rows)
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        conn.executemany(
            f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})', values
        )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


async def load_postgres(url: str, data: Dataset) -> None:
    conn = await asyncpg.connect(url)
    try:
        for table, rows in data.rows.items():
            cols, values = _table_rows("postgres", table, rows)
            await conn.copy_records_to_table(table._meta.tablename, records=values, columns=cols)
            name = table._meta.tablename
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f'(SELECT max("id") FROM "{name}"))'
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# ---- raw baselines -------------------------------------------------------------------------------

FTS = (
    ("contact", "contacts", ("name", "email", "phone", "title"), "name", "email"),
    ("organization", "organizations", ("name", "domain", "industry"), "name", "domain"),
    ("deal", "deals", ("title",), "title", None),
    ("lead", "leads", ("name", "email", "company"), "name", "company"),
    ("ticket", "tickets", ("subject",), "subject", None),
)


def words(text: str) -> list[str]:
    import re

    return [w.lower() for w in re.findall(r"[^\W_]+", text)]


def raw_find(
    dialect: str, text: str, limit: int, owner: int | None = None
) -> tuple[str, list[Any]]:
    """The five full-text queries as one UNION ALL, written by hand; with ``owner``, contacts
    and deals are limited to theirs (the agent's "own" visibility)."""
    parts = []

    def own(entity: str) -> str:
        return f"AND t.owner_id = {owner} " if owner and entity in ("contact", "deal") else ""

    if dialect == "postgres":
        for entity, table, cols, label, detail in FTS:
            text = " || ' ' || ".join(f"coalesce(t.\"{c}\", '')" for c in cols)
            doc = (
                f"to_tsvector('simple'::regconfig, regexp_replace({text}, '[^[:alnum:]]+', ' ', "
                "'g'))"
            )
            parts.append(
                f"SELECT * FROM (SELECT '{entity}' AS entity, t.id, t.\"{label}\" AS label, "
                f"{'t.' + detail if detail else 'NULL'} AS detail, "
                f"ts_rank({doc}, to_tsquery('simple', $1)) AS score FROM \"{table}\" t "
                f"WHERE t.archived_at IS NULL AND {doc} @@ to_tsquery('simple', $1) {own(entity)}"
                f"ORDER BY score DESC, t.id DESC LIMIT $2) AS {entity}"
            )
        return " UNION ALL ".join(parts), [" & ".join(f"{w}:*" for w in words(text)), limit]
    for entity, table, _cols, label, detail in FTS:
        fts = f"{table}_fts"
        parts.append(
            f"SELECT * FROM (SELECT '{entity}' AS entity, t.id, t.\"{label}\" AS label, "
            f"{'t.' + detail if detail else 'NULL'} AS detail, -bm25({fts}) AS score "
            f'FROM {fts} JOIN "{table}" t ON t.id = {fts}.rowid WHERE {fts} MATCH ?1 '
            f"AND t.archived_at IS NULL {own(entity)}ORDER BY bm25({fts}), t.id DESC LIMIT ?2) "
            f"AS {entity}"
        )
    return " UNION ALL ".join(parts), [" ".join(f'"{w}"*' for w in words(text)), limit]


def raw_list(dialect: str, kind: str) -> tuple[str, list[Any]]:
    if kind == "choice":
        cond = (
            ("custom::jsonb @> $1::jsonb", ['{"tier": "Platinum"}'])
            if dialect == "postgres"
            else ("json_extract(custom, '$.tier') = ?", ["Platinum"])
        )
    else:
        cond = (
            ("(custom::jsonb ->> 'seats')::numeric >= $1", [990])
            if dialect == "postgres"
            else ("json_extract(custom, '$.seats') >= ?", [990])
        )
    limit = "$2" if dialect == "postgres" else "?"
    sql = (
        f"SELECT * FROM contacts WHERE {cond[0]} AND archived_at IS NULL "
        f"ORDER BY id DESC LIMIT {limit}"
    )
    return sql, [*cond[1], 51]


def raw_timeline(dialect: str, limit: int, offset: int = 0) -> tuple[str, list[Any]]:
    """The deal's history, activities and tasks, newest first, in one query."""
    pg = dialect == "postgres"
    mark = (lambda n: f"${n}") if pg else (lambda n: f"?{n}")

    def null(kind: str) -> str:
        return f"NULL::{kind}" if pg else "NULL"

    t, i, ts, j = null("text"), null("integer"), null("timestamptz"), null("json")
    sql = (
        "SELECT * FROM ("
        "SELECT 'history' AS kind, id, at, actor, actor_user_id AS user_id, action, command, "
        f"changes, {t} AS subject, {t} AS body, {t} AS direction, {i} AS duration_seconds, "
        f"{t} AS outcome, {t} AS title, {t} AS status, {ts} AS due_at FROM history "
        f"WHERE entity = 'deal' AND entity_id = {mark(1)} "
        f"UNION ALL SELECT 'activity', id, occurred_at, {t}, user_id, kind, {t}, {j}, subject, "
        f"body, direction, duration_seconds, outcome, {t}, {t}, {ts} FROM activities "
        f"WHERE deal_id = {mark(1)} AND archived_at IS NULL "
        f"UNION ALL SELECT 'task', id, created_at, {t}, assignee_id, {t}, {t}, {j}, {t}, {t}, "
        f"{t}, {i}, {t}, title, status, due_at FROM tasks "
        f"WHERE record_type = 'deal' AND record_id = {mark(1)} AND archived_at IS NULL"
        f") AS items ORDER BY at DESC, kind DESC, id DESC LIMIT {mark(2)} OFFSET {mark(3)}"
    )
    return sql, [1, limit, offset]


# ---- measuring -----------------------------------------------------------------------------------


@dataclass
class Measure:
    name: str
    kith_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def ratio(self) -> float:
        return statistics.median(self.kith_ms) / statistics.median(self.raw_ms)


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await call()
    return (time.perf_counter() - start) * 1000, result


async def measure(
    name: str,
    n: int,
    kith_call: Callable[[int], Awaitable[Any]],
    raw_call: Callable[[int], Awaitable[Any]],
) -> Measure:
    m = Measure(name)
    for i in range(min(5, n)):  # warm caches and statement plans
        await kith_call(i)
        await raw_call(i)
    for i in range(n):  # interleaved, so load on the machine hits both alike
        m.kith_ms.append((await timed(lambda i=i: kith_call(i)))[0])
        m.raw_ms.append((await timed(lambda i=i: raw_call(i)))[0])
    return m


async def run_queries(url: str, data: Dataset, sizes: Sizes) -> list[Measure]:
    """Measure every query on the loaded database at ``url``."""
    settings = Settings(database_url=url, plugins_file="/nonexistent/plugins.toml")
    kith = Kith(settings, plugins_file=PluginsFile())
    admin = Actor(user_id=1, role="admin", name="Admin", via="bench")
    agent = Actor(user_id=data.agent_id, role="agent", name="Agent", via="bench")
    searches = data.searches
    n = sizes.iterations
    async with kith:
        dialect = kith.db.dialect
        for key in ("visibility.deal", "visibility.contact"):
            await kith.run("setting.set", {"key": key, "value": "own"}, admin)

        async def kith_find(i: int, actor: Actor = admin) -> Any:
            return await kith.run("find", {"q": searches[i % len(searches)]}, actor)

        async def raw_find_call(i: int, owner: int | None = None) -> Any:
            sql, params = raw_find(dialect, searches[i % len(searches)], 20, owner)
            return await kith.db.fetch(sql, params)

        out = [
            await measure("find", n, kith_find, raw_find_call),
            await measure(
                "find, agent with own visibility",
                n,
                lambda i: kith_find(i, agent),
                lambda i: raw_find_call(i, data.agent_id),
            ),
        ]
        for kind, filt in (
            ("choice", {"custom.tier": "Platinum"}),
            ("number", {"custom.seats": {"gte": 990}}),
        ):
            sql, params = raw_list(dialect, kind)
            out.append(
                await measure(
                    f"contact.list, custom {kind} filter, 50 per page",
                    max(20, n // 2),
                    lambda i, f=filt: kith.run("contact.list", {"filter": f, "limit": 50}, admin),
                    lambda i, s=sql, p=params: kith.db.fetch(s, p),
                )
            )
        sql50, p50 = raw_timeline(dialect, 50)
        out.append(
            await measure(
                f"deal.timeline, first 50 of {sizes.timeline_items}",
                max(20, n // 2),
                lambda i: kith.run("deal.timeline", {"deal": data.timeline_deal}, admin),
                lambda i: kith.db.fetch(sql50, p50),
            )
        )

        async def walk(i: int) -> int:
            cursor, seen = None, 0
            while True:
                payload = {"deal": data.timeline_deal, "limit": 200}
                if cursor:
                    payload["cursor"] = cursor
                page = await kith.run("deal.timeline", payload, admin)
                seen += len(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    return seen

        async def raw_walk(i: int) -> int:
            seen, offset = 0, 0
            while True:
                sql, params = raw_timeline(dialect, 200, offset)
                rows = await kith.db.fetch(sql, params)
                seen += len(rows)
                offset += 200
                if len(rows) < 200:
                    return seen

        out.append(
            await measure(
                f"deal.timeline, all {sizes.timeline_items} (pages of 200)",
                max(10, n // 5),
                walk,
                raw_walk,
            )
        )
        assert await walk(0) == sizes.timeline_items, "the timeline lost items"
    return out


# ---- databases ------------------------------------------------------------------------------


async def fresh_database(backend: str, workdir: Path) -> tuple[str, Callable[[], Awaitable[None]]]:
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:6]}.db"

        async def drop_file() -> None:
            for suffix in ("", "-wal", "-shm"):
                await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)

        return f"sqlite:///{path}", drop_file
    name = f"kith_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()

    async def drop_db() -> None:
        c = await asyncpg.connect(PG_ADMIN_URL)
        await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await c.close()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, drop_db


async def load(url: str, data: Dataset) -> float:
    start = time.perf_counter()
    if url.startswith("sqlite"):
        await asyncio.to_thread(load_sqlite, url.removeprefix("sqlite:///"), data)
    else:
        await load_postgres(url, data)
    return time.perf_counter() - start


async def bench_backend(
    url: str, sizes: Sizes, data: Dataset, log: Callable[[str], None]
) -> list[Measure]:
    """Load ``data`` into the migrated, empty database at ``url`` and measure."""
    seconds = await load(url, data)
    log(f"  loaded in {seconds:.1f}s; measuring")
    return await run_queries(url, data, sizes)


def report(results: dict[str, list[Measure]], sizes: Sizes) -> str:
    lines = [
        f"{sizes.contacts:,} contacts, {sizes.deals:,} deals; times in ms; ratio = Kith p50 ÷ "
        "raw p50",
        "",
        "| backend | query | Kith p50 | Kith p99 | raw p50 | raw p99 | ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for backend, measures in results.items():
        for m in measures:
            kith_p = f"{m.pct(m.kith_ms, 0.5):.2f} | {m.pct(m.kith_ms, 0.99):.2f}"
            raw_p = f"{m.pct(m.raw_ms, 0.5):.2f} | {m.pct(m.raw_ms, 0.99):.2f}"
            lines.append(f"| {backend} | {m.name} | {kith_p} | {raw_p} | {m.ratio:.2f} |")
            if m.ratio > TARGET_RATIO:
                verdicts.append(
                    f"{backend}: {m.name} is {m.ratio:.2f}x its raw query "
                    f"(target ≤ {TARGET_RATIO}x)"
                )
            if m.name.startswith("find") and m.pct(m.kith_ms, 0.99) > TARGET_FIND_P99_MS:
                verdicts.append(
                    f"{backend}: {m.name} p99 {m.pct(m.kith_ms, 0.99):.1f} ms "
                    f"(target < {TARGET_FIND_P99_MS:.0f} ms)"
                )
    lines.append("")
    lines += [f"MISSED: {v}" for v in verdicts] or ["All targets met."]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    sizes = Sizes(args.contacts, args.deals, args.timeline, args.iterations)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    log(f"building {sizes.contacts:,} contacts, {sizes.deals:,} deals…")
    data = build(sizes)
    results: dict[str, list[Measure]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.db.split(","):
            url, drop = await fresh_database(backend, Path(tmp))
            try:
                log(f"{backend}: migrating")
                await asyncio.to_thread(migrate, url, [])
                results[backend] = await bench_backend(url, sizes, data, log)
            finally:
                await drop()
    print(report(results, sizes))
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--timeline", type=int, default=500, help="items on the measured deal")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20,000 contacts, 5,000 deals")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.contacts, args.deals, args.iterations = 20_000, 5_000, 60
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async(parse())))
