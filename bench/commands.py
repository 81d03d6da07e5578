"""Commands per second through ``Kith.run``, against the same statements on the raw drivers.

For each backend (SQLite, PostgreSQL) and each number of concurrent callers (asyncio tasks),
on fresh databases made with ``kith.migrate.migrate``, three contestants do the same work:

* **Kith**: N ``contact.create`` (each with a unique email), then N ``contact.update`` (new
  name and title) through ``Kith.run``; events are delivered to the plugins before a timed
  slice ends.
* **raw async**: the same writes through the raw async driver on ONE persistent connection
  (aiosqlite or asyncpg), one transaction per command, callers taking turns on it: create =
  INSERT contact, INSERT its email row, INSERT history row, INSERT outbox row; update =
  SELECT the contact (the "before" of the history row), UPDATE it, INSERT history, INSERT
  outbox. Same columns, same values, same JSON payloads as Kith writes.
* **sqlite3**: the same as raw async through the synchronous ``sqlite3`` module on SQLite,
  one caller (the physical limit on this machine, for information).

The machine is shared and noisy, so the contestants take turns in slices of
``--slice`` commands (rotating who goes first): a burst of load hits all of them alike, and
their ratios hold even when the absolute figures swing. Kith's targets: at most 3x the raw
async time, at least 1,000 commands/s on SQLite.

    .venv/bin/python bench/commands.py                  # N=20,000, SQLite and PostgreSQL, 1 and 8
    .venv/bin/python bench/commands.py --quick          # smoke run (N=500)
    .venv/bin/python bench/commands.py --db sqlite --n 5000 --callers 1 --markdown
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from kith import SYSTEM, Actor, Kith, Settings
from kith.migrate import migrate

PG_ADMIN_URL = os.environ.get("KITH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgres")
OPS = ("create", "update")
TARGET_RAW_RATIO = 3.0
TARGET_SQLITE_RATE = 1000.0
DEFAULT_SLICE = 1000


# ---- the workload -------------------------------------------------------------------------------


# On PostgreSQL the Kith and raw contestants share one database: their contacts must not be
# duplicates of each other (same name, same phone), or Kith's duplicate check (which the raw
# driver does not run) would flag every create — on SQLite each has a database of its own.
NUMBER_OFFSET = {"raw": 10_000_000, "sync": 20_000_000}


def create_payload(i: int, tag: str = "c") -> dict[str, Any]:
    n = i + NUMBER_OFFSET.get(tag, 0)
    return {
        "name": f"Contact {n}",
        "email": f"{tag}{i}@bench.example.com",
        "phone": f"+33 1 {n:08d}",
        "title": "Engineer",
    }


def update_payload(contact_id: int, i: int) -> dict[str, Any]:
    return {"contact": contact_id, "name": f"Contact {i} renamed", "title": "Manager"}


def admin_email(tag: str) -> str:
    return f"{tag}-admin@bench.example.com"


def expected_counts(n: int) -> dict[str, int]:
    """What every contestant must leave behind: n contacts with their email, 2n history and
    outbox rows (created + updated), every contact updated."""
    return {
        "contacts": n,
        "contact_emails": n,
        "history": 2 * n,
        "outbox_events": 2 * n,
        "updated": n,
    }


COUNT_SQL = {
    "contacts": "SELECT COUNT(*) FROM contacts WHERE created_by = ?",
    "contact_emails": (
        "SELECT COUNT(*) FROM contact_emails e JOIN contacts c ON c.id = e.contact_id "
        "WHERE c.created_by = ?"
    ),
    "history": "SELECT COUNT(*) FROM history WHERE entity = 'contact' AND actor_user_id = ?",
    "outbox_events": "SELECT COUNT(*) FROM outbox_events WHERE entity = 'contact' AND actor = ?",
    "updated": "SELECT COUNT(*) FROM contacts WHERE created_by = ? AND title = 'Manager'",
}


def dollar(sql: str) -> str:
    """``?`` placeholders → ``$1, $2…`` for asyncpg."""
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


def actor_label(user_id: int) -> str:
    return f"bench:user:{user_id}"


async def table_counts(url: str, user_id: int) -> dict[str, int]:
    """What one contestant (the user ``user_id``) left in the database."""
    params = {k: [actor_label(user_id) if k == "outbox_events" else user_id] for k in COUNT_SQL}
    if url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(url)) as conn:
            return {k: conn.execute(sql, params[k]).fetchone()[0] for k, sql in COUNT_SQL.items()}
    conn = await asyncpg.connect(url)
    try:
        return {k: await conn.fetchval(dollar(sql), *params[k]) for k, sql in COUNT_SQL.items()}
    finally:
        await conn.close()


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


async def drive(start: int, stop: int, callers: int, one: Callable[[int], Awaitable[None]]):
    """Run ``one(i)`` for i in start..stop-1 from ``callers`` concurrent tasks."""
    items = iter(range(start, stop))

    async def caller() -> None:
        for i in items:  # shared iterator: each i is taken by exactly one caller
            await one(i)

    await asyncio.gather(*(caller() for _ in range(callers)))


class Contestant:
    """Something that runs the workload slice by slice: ``open``, ``run`` slices, ``close``."""

    name = ""
    url = ""
    user_id = 0

    def __init__(self, url: str, tag: str, n: int) -> None:
        self.url = url
        self.tag = tag
        self.ids = [0] * n

    async def open(self) -> None:
        raise NotImplementedError

    async def run(self, op: str, start: int, stop: int, callers: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def counts(self) -> dict[str, int]:
        return await table_counts(self.url, self.user_id)

    async def between_turns(self) -> None:
        """Upkeep between turns, not timed (nothing by default)."""


# ---- Kith ---------------------------------------------------------------------------------------


class KithContestant(Contestant):
    """``contact.create`` / ``contact.update`` through ``Kith.run``, as an admin."""

    name = "kith"

    async def open(self) -> None:
        self.kith = Kith(Settings(database_url=self.url, load_entry_points=False))
        await self.kith.start()
        user = await self.kith.run(
            "user.create",
            {"email": admin_email(self.tag), "name": "Bench", "role": "admin"},
            SYSTEM,
        )
        await self.kith.drain()
        self.user_id = user.id
        self.actor = Actor(
            user_id=user.id, role="admin", name=user.name, email=user.email, via="bench"
        )

    async def run(self, op: str, start: int, stop: int, callers: int) -> None:
        kith, actor, ids, tag = self.kith, self.actor, self.ids, self.tag

        async def create(i: int) -> None:
            ids[i] = (await kith.run("contact.create", create_payload(i, tag), actor)).id

        async def update(i: int) -> None:
            await kith.run("contact.update", update_payload(ids[i], i), actor)

        await drive(start, stop, callers, create if op == "create" else update)
        await kith.drain()  # every event delivered to the plugins

    async def close(self) -> None:
        await self.kith.stop()

    async def between_turns(self) -> None:
        """What autovacuum does on a default PostgreSQL (this machine has it off): fresh
        statistics, so the planner uses the full-text and phone indexes as the table grows."""
        if self.kith.db.dialect == "postgres":
            await self.kith.db.fetch("ANALYZE", [])


# ---- the same statements on the raw drivers -----------------------------------------------------

USER_SQL = (
    "INSERT INTO users (email, name, role, time_zone, active, custom, created_at, updated_at) "
    "VALUES (?, 'Bench', 'admin', 'UTC', ?, '{}', ?, ?) RETURNING id"
)
CONTACT_SQL = (
    "INSERT INTO contacts (name, phone, title, lifecycle_stage, custom, owner_id, email, "
    "consent, created_at, updated_at, created_by) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?) RETURNING id"
)
EMAIL_SQL = (
    "INSERT INTO contact_emails (contact_id, email, is_primary, undeliverable) VALUES (?, ?, ?, ?)"
)
SELECT_SQL = "SELECT * FROM contacts WHERE id = ?"
UPDATE_SQL = "UPDATE contacts SET name = ?, title = ?, updated_at = ? WHERE id = ?"
HISTORY_SQL = (
    "INSERT INTO history (at, actor, actor_user_id, command, entity, entity_id, action, changes) "
    "VALUES (?, ?, ?, ?, 'contact', ?, ?, ?)"
)
OUTBOX_SQL = (
    "INSERT INTO outbox_events (event_id, name, entity, entity_id, actor, at, data, claimed_by, "
    "claimed_at) VALUES (?, ?, 'contact', ?, ?, ?, ?, ?, ?)"
)
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class RawParams:
    """Parameters of each statement, built as Kith builds them (same columns, same JSON)."""

    def __init__(self, dialect: str, user_id: int, tag: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.user_id = user_id
        self.tag = tag
        self.actor = actor_label(user_id)
        self.claim = uuid.uuid4().hex[:16]
        self.sql = {
            k: (v if self.sqlite else dollar(v))
            for k, v in {
                "contact": CONTACT_SQL,
                "email": EMAIL_SQL,
                "select": SELECT_SQL,
                "update": UPDATE_SQL,
                "history": HISTORY_SQL,
                "outbox": OUTBOX_SQL,
            }.items()
        }

    def ts(self, value: datetime) -> Any:
        return value.isoformat() if self.sqlite else value

    def create(self, i: int) -> tuple[list[Any], Callable[[int], list[list[Any]]]]:
        """Parameters of the contact insert, and a function of its id giving the others."""
        p = create_payload(i, self.tag)
        now = datetime.now(UTC)
        at = self.ts(now)
        contact = [p["name"], p["phone"], p["title"], "subscriber", "{}", self.user_id, p["email"]]
        contact += [at, at, self.user_id]

        def rest(contact_id: int) -> list[list[Any]]:
            changes = {
                "name": [None, p["name"]],
                "phone": [None, p["phone"]],
                "title": [None, p["title"]],
                "lifecycle_stage": [None, "subscriber"],
                "owner_id": [None, self.user_id],
                "email": [None, p["email"]],
            }
            record = {
                "id": contact_id,
                "created_at": now.isoformat(),
                "updated_at": now.isoformat(),
                "archived_at": None,
                "name": p["name"],
                "email": p["email"],
                "emails": [{"email": p["email"], "primary": True, "undeliverable": False}],
                "phone": p["phone"],
                "title": p["title"],
                "organization_id": None,
                "owner_id": self.user_id,
                "lifecycle_stage": "subscriber",
                "custom": {},
            }
            dumped, event, claim = _dumps(changes), _dumps({"record": record}), (self.claim, at)
            return [
                [contact_id, p["email"], 1 if self.sqlite else True, 0 if self.sqlite else False],
                [at, self.actor, self.user_id, "contact.create", contact_id, "created", dumped],
                [uuid.uuid4().hex, "contact.created", contact_id, self.actor, at, event, *claim],
            ]

        return contact, rest

    def update(self, before: Any, contact_id: int, i: int) -> list[list[Any]]:
        """Parameters of the update, history and outbox statements."""
        p = update_payload(contact_id, i)
        at = self.ts(datetime.now(UTC))
        changes = {"name": [before["name"], p["name"]], "title": [before["title"], p["title"]]}
        dumped, event, claim = _dumps(changes), _dumps({"changes": changes}), (self.claim, at)
        return [
            [p["name"], p["title"], at, contact_id],
            [at, self.actor, self.user_id, "contact.update", contact_id, "updated", dumped],
            [uuid.uuid4().hex, "contact.updated", contact_id, self.actor, at, event, *claim],
        ]


class AiosqliteContestant(Contestant):
    """The statements through aiosqlite on one connection; callers take turns on it."""

    name = "raw"

    async def open(self) -> None:
        self.conn = conn = await aiosqlite.connect(sqlite_path(self.url), isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            await conn.execute(pragma)
        now = datetime.now(UTC).isoformat()
        cursor = await conn.execute(USER_SQL, [admin_email(self.tag), 1, now, now])
        self.user_id = (await cursor.fetchone())[0]
        conn.row_factory = aiosqlite.Row
        self.params = RawParams("sqlite", self.user_id, self.tag)
        self.lock = asyncio.Lock()  # one connection: one transaction at a time

    async def _create(self, i: int) -> None:
        conn, sql = self.conn, self.params.sql
        contact, rest = self.params.create(i)
        async with self.lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = await conn.execute(sql["contact"], contact)
                self.ids[i] = contact_id = (await cursor.fetchone())[0]
                email, hist, outbox = rest(contact_id)
                await conn.execute(sql["email"], email)
                await conn.execute(sql["history"], hist)
                await conn.execute(sql["outbox"], outbox)
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    async def _update(self, i: int) -> None:
        conn, sql, contact_id = self.conn, self.params.sql, self.ids[i]
        async with self.lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = await conn.execute(sql["select"], [contact_id])
                before = await cursor.fetchone()
                upd, hist, outbox = self.params.update(before, contact_id, i)
                await conn.execute(sql["update"], upd)
                await conn.execute(sql["history"], hist)
                await conn.execute(sql["outbox"], outbox)
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    async def run(self, op: str, start: int, stop: int, callers: int) -> None:
        await drive(start, stop, callers, self._create if op == "create" else self._update)

    async def close(self) -> None:
        await self.conn.close()


class AsyncpgContestant(Contestant):
    """The statements through asyncpg on one connection; callers take turns on it."""

    name = "raw"

    async def open(self) -> None:
        self.conn = conn = await asyncpg.connect(self.url)
        now = datetime.now(UTC)
        self.user_id = await conn.fetchval(dollar(USER_SQL), admin_email(self.tag), True, now, now)
        self.params = RawParams("postgres", self.user_id, self.tag)
        self.lock = asyncio.Lock()  # one connection: one transaction at a time

    async def _create(self, i: int) -> None:
        conn, sql = self.conn, self.params.sql
        contact, rest = self.params.create(i)
        async with self.lock, conn.transaction():
            self.ids[i] = contact_id = await conn.fetchval(sql["contact"], *contact)
            email, hist, outbox = rest(contact_id)
            await conn.execute(sql["email"], *email)
            await conn.execute(sql["history"], *hist)
            await conn.execute(sql["outbox"], *outbox)

    async def _update(self, i: int) -> None:
        conn, sql, contact_id = self.conn, self.params.sql, self.ids[i]
        async with self.lock, conn.transaction():
            before = await conn.fetchrow(sql["select"], contact_id)
            upd, hist, outbox = self.params.update(before, contact_id, i)
            await conn.execute(sql["update"], *upd)
            await conn.execute(sql["history"], *hist)
            await conn.execute(sql["outbox"], *outbox)

    async def run(self, op: str, start: int, stop: int, callers: int) -> None:
        await drive(start, stop, callers, self._create if op == "create" else self._update)

    async def close(self) -> None:
        await self.conn.close()


class Sqlite3Contestant(Contestant):
    """The statements through the synchronous ``sqlite3`` module, one caller."""

    name = "sqlite3"

    async def open(self) -> None:
        self.conn = conn = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        now = datetime.now(UTC).isoformat()
        self.user_id = conn.execute(USER_SQL, [admin_email(self.tag), 1, now, now]).fetchone()[0]
        conn.row_factory = sqlite3.Row
        self.params = RawParams("sqlite", self.user_id, self.tag)

    def _create(self, i: int) -> None:
        conn, sql = self.conn, self.params.sql
        contact, rest = self.params.create(i)
        conn.execute("BEGIN IMMEDIATE")
        try:
            self.ids[i] = contact_id = conn.execute(sql["contact"], contact).fetchone()[0]
            email, hist, outbox = rest(contact_id)
            conn.execute(sql["email"], email)
            conn.execute(sql["history"], hist)
            conn.execute(sql["outbox"], outbox)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _update(self, i: int) -> None:
        conn, sql, contact_id = self.conn, self.params.sql, self.ids[i]
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.execute(sql["select"], [contact_id]).fetchone()
            upd, hist, outbox = self.params.update(before, contact_id, i)
            conn.execute(sql["update"], upd)
            conn.execute(sql["history"], hist)
            conn.execute(sql["outbox"], outbox)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def run(self, op: str, start: int, stop: int, callers: int) -> None:
        one = self._create if op == "create" else self._update
        for i in range(start, stop):
            one(i)

    async def close(self) -> None:
        self.conn.close()


# ---- fresh databases ----------------------------------------------------------------------------


class Databases:
    """Fresh migrated databases made with ``kith.migrate.migrate``.

    SQLite: a migrated template in a temporary directory, copied for every contestant.
    PostgreSQL: a uniquely named database per slot (Kith's, the raw driver's), migrated
    once, emptied (``TRUNCATE … RESTART IDENTITY``) before each round, dropped by
    :meth:`close`. Kith never shares one with the raw contestant: the raw rows' outbox
    events would look to Kith's relay like a crashed Kith's, and it would deliver them.

    ``templates`` may give an already migrated, empty database per backend (the smoke test
    passes its own; such a PostgreSQL database is emptied but not dropped).
    """

    def __init__(
        self, pg_admin_url: str = PG_ADMIN_URL, templates: dict[str, str] | None = None
    ) -> None:
        self.pg_admin_url = pg_admin_url
        self.templates = dict(templates or {})
        self.tmp = Path(tempfile.mkdtemp(prefix="kith-bench-"))
        self.tag = uuid.uuid4().hex[:8]
        self._created_pg: list[str] = []
        self._count = 0
        self._apps: list[str] | None = None

    def _plugin_apps(self) -> list[str]:
        if self._apps is None:
            self._apps = Kith(
                Settings(database_url="sqlite:///:memory:", load_entry_points=False)
            ).hooks.tables()
        return self._apps

    async def _pg(self, sql: str) -> None:
        conn = await asyncpg.connect(self.pg_admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def _template(self, backend: str, slot: str = "") -> str:
        key = f"{backend}:{slot}" if slot and backend != "sqlite" else backend
        if key not in self.templates:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp / 'template.db'}"
            else:
                name = f"kith_bench_{self.tag}{slot}"
                await self._pg(f'CREATE DATABASE "{name}"')
                self._created_pg.append(name)
                url = f"{self.pg_admin_url.rsplit('/', 1)[0]}/{name}"
            migrate(url, self._plugin_apps())
            self.templates[key] = url
        return self.templates[key]

    async def fresh(self, backend: str, slot: str = "") -> str:
        """A migrated, empty SQLite file, or the emptied PostgreSQL database (one per
        ``slot``: Kith must not share its database with the raw contestant, whose rows
        would look like a crashed Kith's unsent events to Kith's relay)."""
        template = await self._template(backend, slot)
        self._count += 1
        if backend == "sqlite":
            path = self.tmp / f"run{self._count}.db"
            shutil.copyfile(sqlite_path(template), path)
            return f"sqlite:///{path}"
        conn = await asyncpg.connect(template)
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'migration'"
            )
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()
        return template

    async def close(self) -> None:
        for name in reversed(self._created_pg):
            await self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created_pg.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    async def __aenter__(self) -> Databases:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# ---- the run and its report ---------------------------------------------------------------------


@dataclass
class Timing:
    """Seconds per phase and what the contestant left in the database."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(OPS, 0.0))
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Run:
    """One backend and number of callers: Kith, raw async and sqlite3 in turns."""

    backend: str
    callers: int
    kith: Timing
    raw: Timing
    sync: Timing | None = None


async def race(
    contestants: Sequence[Contestant],
    n: int,
    callers: int,
    slice_size: int,
    label: str,
    quiet: bool = False,
) -> dict[str, Timing]:
    """Every contestant does N creates then N updates, in turns of ``slice_size`` commands;
    who goes first rotates. Returns each one's seconds per phase and row counts."""
    timings = {c.name: Timing() for c in contestants}
    for c in contestants:
        await c.open()
    try:
        turn = 0
        for op in OPS:
            for start in range(0, n, slice_size):
                stop = min(n, start + slice_size)
                k = turn % len(contestants)
                for c in [*contestants[k:], *contestants[:k]]:
                    began = time.perf_counter()
                    await c.run(op, start, stop, 1 if c.name == "sqlite3" else callers)
                    timings[c.name].seconds[op] += time.perf_counter() - began
                turn += 1
                for c in contestants:  # outside the timing
                    await c.between_turns()
                if not quiet:
                    rates = ", ".join(
                        f"{name} {stop / t.seconds[op]:,.0f}/s" for name, t in timings.items()
                    )
                    print(f"  {label} {op} {stop:>6}/{n}: {rates}", file=sys.stderr, flush=True)
    finally:
        for c in contestants:
            await c.close()
    for c in contestants:
        timings[c.name].counts = await c.counts()
        if timings[c.name].counts != expected_counts(n):
            raise AssertionError(
                f"{c.name} {label} left {timings[c.name].counts}, not {expected_counts(n)}"
            )
    return timings


@dataclass
class Report:
    n: int
    runs: list[Run]

    @property
    def has_sync(self) -> bool:
        return any(r.sync is not None for r in self.runs)

    @staticmethod
    def total(t: Timing) -> float:
        return sum(t.seconds[op] for op in OPS)

    def rows(self) -> list[list[str]]:
        out = []
        for r in self.runs:
            for op in (*OPS, "both"):
                k = self.total(r.kith) if op == "both" else r.kith.seconds[op]
                raw = self.total(r.raw) if op == "both" else r.raw.seconds[op]
                n = self.n * (2 if op == "both" else 1)
                row = [r.backend, str(r.callers), op, f"{n / k:,.0f}", f"{n / raw:,.0f}"]
                row.append(f"{k / raw:.2f}x")
                if r.sync is not None:
                    s = self.total(r.sync) if op == "both" else r.sync.seconds[op]
                    row += [f"{n / s:,.0f}", f"{k / s:.1f}x"]
                elif self.has_sync:
                    row += ["", ""]
                out.append(row)
        return out

    def headers(self) -> list[str]:
        h = ["backend", "callers", "command", "Kith cmd/s", "raw async cmd/s", "Kith ÷ raw"]
        if self.has_sync:
            h += ["sqlite3 cmd/s", "Kith ÷ sqlite3"]
        return h

    def table(self, markdown: bool = False) -> str:
        headers, rows = self.headers(), self.rows()
        if markdown:
            lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            return "\n".join(lines)
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        fmt = "  ".join(f"{{:>{w}}}" for w in widths)
        return "\n".join([fmt.format(*headers), *(fmt.format(*r) for r in rows)])

    def verdicts(self) -> list[str]:
        out = []
        for r in self.runs:
            ratio = self.total(r.kith) / self.total(r.raw)
            ok = "ok" if ratio <= TARGET_RAW_RATIO else "MISSED"
            out.append(
                f"{r.backend} x{r.callers}: Kith takes {ratio:.2f}x the raw async time "
                f"(target <= {TARGET_RAW_RATIO:g}x): {ok}"
            )
            if r.backend == "sqlite":
                rate = 2 * self.n / self.total(r.kith)
                ok = "ok" if rate >= TARGET_SQLITE_RATE else "MISSED"
                out.append(
                    f"sqlite x{r.callers}: {rate:,.0f} commands/s "
                    f"(target >= {TARGET_SQLITE_RATE:,.0f}): {ok}"
                )
        return out


async def run_benchmark(
    n: int,
    backends: Sequence[str],
    callers: Sequence[int],
    databases: Databases,
    *,
    sync_baseline: bool = True,
    slice_size: int = DEFAULT_SLICE,
    quiet: bool = False,
) -> Report:
    """Each backend and number of callers: Kith, raw async and sqlite3 in turns."""
    runs: list[Run] = []
    for backend in backends:
        raw_class = AiosqliteContestant if backend == "sqlite" else AsyncpgContestant
        for c in callers:
            kith_url = await databases.fresh(backend)
            raw_url = await databases.fresh(backend, slot="raw")
            contestants: list[Contestant] = [
                KithContestant(kith_url, "kith", n),
                raw_class(raw_url, "raw", n),
            ]
            if sync_baseline:
                contestants.append(Sqlite3Contestant(await databases.fresh("sqlite"), "sync", n))
            t = await race(contestants, n, c, slice_size, f"{backend} x{c}", quiet)
            runs.append(Run(backend, c, t["kith"], t["raw"], t.get("sqlite3")))
    return Report(n, runs)


def main(argv: Sequence[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="commands of each kind (20000)")
    parser.add_argument("--db", default="sqlite,postgres", help="backends: sqlite,postgres")
    parser.add_argument("--callers", default="1,8", help="concurrent callers, e.g. 1,8")
    parser.add_argument("--slice", type=int, default=DEFAULT_SLICE, help="commands per turn")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (N=500)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL admin URL")
    args = parser.parse_args(argv)
    n = args.n or (500 if args.quick else 20_000)
    slice_size = min(args.slice, 100) if args.quick else args.slice
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    for b in backends:
        if b not in BACKENDS:
            parser.error(f"--db: unknown backend {b!r} (choose from {', '.join(BACKENDS)})")
    callers = [int(c) for c in args.callers.split(",") if c.strip()]

    async def go() -> Report:
        async with Databases(args.pg_url) as databases:
            return await run_benchmark(n, backends, callers, databases, slice_size=slice_size)

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    report = asyncio.run(go())
    print(
        f"\nPython {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after the run"
    )
    print(
        f"N = {n:,} contact.create then {n:,} contact.update per contestant, in turns of "
        f"{slice_size:,}; cmd/s = commands/s"
    )
    print(report.table(markdown=args.markdown))
    print()
    for line in report.verdicts():
        print(line)
    print(f"(whole run {time.perf_counter() - started:,.0f} s)")
    return report


if __name__ == "__main__":
    main()
