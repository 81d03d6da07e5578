"""Commands per second through ``Kith.run``, against the same statements on the raw drivers.

For each backend (SQLite, PostgreSQL) and each number of concurrent callers (asyncio tasks),
on fresh databases made with ``kith.migrate.migrate``:

* **Kith**: N ``contact.create`` (each with a unique email), then N ``contact.update`` (new
  name and title) through ``Kith.run``, events delivered to the plugins before the clock
  stops.
* **raw async**: the same writes through the raw async driver on ONE persistent connection
  (aiosqlite or asyncpg), one transaction per command, callers taking turns on it: create =
  INSERT contact, INSERT its email row, INSERT history row, INSERT outbox row; update =
  SELECT the contact (the "before" of the history row), UPDATE it, INSERT history, INSERT
  outbox. Same columns, same values, same JSON payloads as Kith writes.
* **sqlite3**: the same as raw async through the synchronous ``sqlite3`` module, one caller
  (the physical limit on this machine, for information).

Kith's target: at most 3x the raw async time, and at least 1,000 commands/s on SQLite.
Every figure is only meaningful as a ratio against the baselines measured in the same run.

    .venv/bin/python bench/commands.py                  # N=20,000, SQLite and PostgreSQL, 1 and 8
    .venv/bin/python bench/commands.py --quick          # smoke run (N=500)
    .venv/bin/python bench/commands.py --db sqlite --n 5000 --callers 1
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
ADMIN_EMAIL = "bench@example.com"


# ---- the workload -------------------------------------------------------------------------------


def create_payload(i: int) -> dict[str, Any]:
    return {
        "name": f"Contact {i}",
        "email": f"contact{i}@bench.example.com",
        "phone": f"+33 1 {i:08d}",
        "title": "Engineer",
    }


def update_payload(contact_id: int, i: int) -> dict[str, Any]:
    return {"contact": contact_id, "name": f"Contact {i} renamed", "title": "Manager"}


@dataclass
class Timing:
    """Seconds per phase and what the run left in its database."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def rate(self, op: str, n: int) -> float:
        return n / self.seconds[op]


class Progress:
    """A one-line progress indication on stderr (every ~5 % of a phase)."""

    def __init__(self, label: str, total: int, quiet: bool = False) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.step = max(1, total // 20)
        self.quiet = quiet or total < 2000
        self.tty = sys.stderr.isatty()
        self._started = time.perf_counter()

    def tick(self) -> None:
        self.done += 1
        if self.quiet or self.done % self.step:
            return
        rate = self.done / max(time.perf_counter() - self._started, 1e-9)
        line = f"  {self.label}: {self.done:>6}/{self.total} ({rate:,.0f}/s)"
        if self.tty:
            sys.stderr.write("\r" + line)
            if self.done == self.total:
                sys.stderr.write("\n")
        elif self.done * 4 % self.total < self.step * 4:  # about every quarter
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


async def drive(
    n: int, callers: int, one: Callable[[int], Awaitable[None]], progress: Progress
) -> float:
    """Run ``one(i)`` for i in 0..n-1 from ``callers`` concurrent tasks; seconds taken."""
    items = iter(range(n))

    async def caller() -> None:
        for i in items:  # shared iterator: each i is taken by exactly one caller
            await one(i)
            progress.tick()

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return time.perf_counter() - start


COUNT_SQL = {
    "contacts": "SELECT COUNT(*) FROM contacts",
    "contact_emails": "SELECT COUNT(*) FROM contact_emails",
    "history": "SELECT COUNT(*) FROM history WHERE entity = 'contact'",
    "outbox_events": "SELECT COUNT(*) FROM outbox_events WHERE entity = 'contact'",
    "updated": "SELECT COUNT(*) FROM contacts WHERE title = 'Manager'",
}


async def table_counts(url: str) -> dict[str, int]:
    """What a run left behind (checked by the bench and its smoke test)."""
    if url.startswith("sqlite"):
        return _sqlite_counts(url)
    conn = await asyncpg.connect(url)
    try:
        return {k: await conn.fetchval(sql) for k, sql in COUNT_SQL.items()}
    finally:
        await conn.close()


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


# ---- Kith ---------------------------------------------------------------------------------------


async def bench_kith(url: str, n: int, callers: int, label: str = "kith", quiet: bool = False):
    """N contact.create then N contact.update through ``Kith.run``."""
    timing = Timing()
    kith = Kith(Settings(database_url=url))
    async with kith:
        user = await kith.run(
            "user.create", {"email": ADMIN_EMAIL, "name": "Bench", "role": "admin"}, SYSTEM
        )
        await kith.drain()
        actor = Actor(user_id=user.id, role="admin", name=user.name, email=user.email, via="bench")
        ids = [0] * n

        async def create(i: int) -> None:
            ids[i] = (await kith.run("contact.create", create_payload(i), actor)).id

        async def update(i: int) -> None:
            await kith.run("contact.update", update_payload(ids[i], i), actor)

        for op, one in (("create", create), ("update", update)):
            progress = Progress(f"{label} {op}", n, quiet)
            start = time.perf_counter()
            await drive(n, callers, one, progress)
            await kith.drain()  # every event delivered to the plugins
            timing.seconds[op] = time.perf_counter() - start
    timing.counts = await table_counts(url)
    return timing


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


def dollar(sql: str) -> str:
    """``?`` placeholders → ``$1, $2…`` for asyncpg."""
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Statements:
    """Parameters of each statement, built as Kith builds them (same columns, same JSON)."""

    def __init__(self, dialect: str, user_id: int) -> None:
        self.sqlite = dialect == "sqlite"
        self.user_id = user_id
        self.actor = f"bench:user:{user_id}"
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
        p = create_payload(i)
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
        changes = {
            "name": [before["name"], p["name"]],
            "title": [before["title"], p["title"]],
        }
        dumped, event = _dumps(changes), _dumps({"changes": changes})
        return [
            [p["name"], p["title"], at, contact_id],
            [at, self.actor, self.user_id, "contact.update", contact_id, "updated", dumped],
            [
                uuid.uuid4().hex,
                "contact.updated",
                contact_id,
                self.actor,
                at,
                event,
                self.claim,
                at,
            ],
        ]


async def _bench_aiosqlite(url: str, n: int, callers: int, label: str, quiet: bool) -> Timing:
    timing = Timing()
    conn = await aiosqlite.connect(sqlite_path(url), isolation_level=None)
    try:
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 10000",
        ):
            await conn.execute(pragma)
        now = datetime.now(UTC).isoformat()
        cursor = await conn.execute(USER_SQL, [ADMIN_EMAIL, 1, now, now])
        user_id = (await cursor.fetchone())[0]
        st = Statements("sqlite", user_id)
        sql = st.sql
        lock = asyncio.Lock()  # one connection: callers take turns, one transaction each
        ids = [0] * n

        async def create(i: int) -> None:
            contact, rest = st.create(i)
            async with lock:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    cursor = await conn.execute(sql["contact"], contact)
                    ids[i] = contact_id = (await cursor.fetchone())[0]
                    email, hist, outbox = rest(contact_id)
                    await conn.execute(sql["email"], email)
                    await conn.execute(sql["history"], hist)
                    await conn.execute(sql["outbox"], outbox)
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise

        conn.row_factory = aiosqlite.Row

        async def update(i: int) -> None:
            async with lock:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    cursor = await conn.execute(sql["select"], [ids[i]])
                    before = await cursor.fetchone()
                    upd, hist, outbox = st.update(before, ids[i], i)
                    await conn.execute(sql["update"], upd)
                    await conn.execute(sql["history"], hist)
                    await conn.execute(sql["outbox"], outbox)
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise

        for op, one in (("create", create), ("update", update)):
            timing.seconds[op] = await drive(n, callers, one, Progress(f"{label} {op}", n, quiet))
    finally:
        await conn.close()
    timing.counts = await table_counts(url)
    return timing


async def _bench_asyncpg(url: str, n: int, callers: int, label: str, quiet: bool) -> Timing:
    timing = Timing()
    conn = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        user_id = await conn.fetchval(dollar(USER_SQL), ADMIN_EMAIL, True, now, now)
        st = Statements("postgres", user_id)
        sql = st.sql
        lock = asyncio.Lock()  # one connection: callers take turns, one transaction each
        ids = [0] * n

        async def create(i: int) -> None:
            contact, rest = st.create(i)
            async with lock, conn.transaction():
                ids[i] = contact_id = await conn.fetchval(sql["contact"], *contact)
                email, hist, outbox = rest(contact_id)
                await conn.execute(sql["email"], *email)
                await conn.execute(sql["history"], *hist)
                await conn.execute(sql["outbox"], *outbox)

        async def update(i: int) -> None:
            async with lock, conn.transaction():
                before = await conn.fetchrow(sql["select"], ids[i])
                upd, hist, outbox = st.update(before, ids[i], i)
                await conn.execute(sql["update"], *upd)
                await conn.execute(sql["history"], *hist)
                await conn.execute(sql["outbox"], *outbox)

        for op, one in (("create", create), ("update", update)):
            timing.seconds[op] = await drive(n, callers, one, Progress(f"{label} {op}", n, quiet))
    finally:
        await conn.close()
    timing.counts = await table_counts(url)
    return timing


async def bench_raw(url: str, n: int, callers: int, label: str = "raw", quiet: bool = False):
    """The same statements through aiosqlite or asyncpg, on one persistent connection."""
    if url.startswith("sqlite"):
        return await _bench_aiosqlite(url, n, callers, label, quiet)
    return await _bench_asyncpg(url, n, callers, label, quiet)


def bench_sqlite3(url: str, n: int, label: str = "sqlite3", quiet: bool = False) -> Timing:
    """The same statements through the synchronous ``sqlite3`` module, one caller."""
    timing = Timing()
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
        ):
            conn.execute(pragma)
        now = datetime.now(UTC).isoformat()
        user_id = conn.execute(USER_SQL, [ADMIN_EMAIL, 1, now, now]).fetchone()[0]
        st = Statements("sqlite", user_id)
        sql = st.sql
        ids = [0] * n

        def create(i: int) -> None:
            contact, rest = st.create(i)
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids[i] = contact_id = conn.execute(sql["contact"], contact).fetchone()[0]
                email, hist, outbox = rest(contact_id)
                conn.execute(sql["email"], email)
                conn.execute(sql["history"], hist)
                conn.execute(sql["outbox"], outbox)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        def update(i: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.execute(sql["select"], [ids[i]]).fetchone()
                upd, hist, outbox = st.update(before, ids[i], i)
                conn.execute(sql["update"], upd)
                conn.execute(sql["history"], hist)
                conn.execute(sql["outbox"], outbox)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        conn.row_factory = sqlite3.Row
        for op, one in (("create", create), ("update", update)):
            progress = Progress(f"{label} {op}", n, quiet)
            start = time.perf_counter()
            for i in range(n):
                one(i)
                progress.tick()
            timing.seconds[op] = time.perf_counter() - start
    finally:
        conn.close()
    timing.counts = _sqlite_counts(url)
    return timing


def _sqlite_counts(url: str) -> dict[str, int]:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return {k: conn.execute(sql).fetchone()[0] for k, sql in COUNT_SQL.items()}


# ---- fresh databases ----------------------------------------------------------------------------


class Databases:
    """Fresh migrated databases made with ``kith.migrate.migrate``.

    SQLite: one migrated template in a temporary directory, copied for every run. PostgreSQL:
    one uniquely named database, migrated once and emptied (``TRUNCATE … RESTART IDENTITY``)
    before every run, dropped by :meth:`close`.

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
            self._apps = Kith(Settings(database_url="sqlite:///:memory:")).hooks.tables()
        return self._apps

    async def _pg(self, sql: str) -> None:
        conn = await asyncpg.connect(self.pg_admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def _template(self, backend: str) -> str:
        if backend not in self.templates:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp / 'template.db'}"
            else:
                name = f"kith_bench_{self.tag}"
                await self._pg(f'CREATE DATABASE "{name}"')
                self._created_pg.append(name)
                url = f"{self.pg_admin_url.rsplit('/', 1)[0]}/{name}"
            migrate(url, self._plugin_apps())
            self.templates[backend] = url
        return self.templates[backend]

    async def fresh(self, backend: str) -> str:
        """The URL of a migrated, empty database."""
        template = await self._template(backend)
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
class Run:
    """One backend and number of callers: the raw baseline, Kith, then sqlite3 (one caller),
    measured back to back so that the machine's noise hits them alike."""

    backend: str
    callers: int
    kith: Timing
    raw: Timing
    sync: Timing | None = None


@dataclass
class Report:
    n: int
    runs: list[Run]

    @property
    def has_sync(self) -> bool:
        return any(r.sync is not None for r in self.runs)

    def total(self, t: Timing) -> float:
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


def expected_counts(n: int) -> dict[str, int]:
    """What every run must leave behind: n contacts with their email, 2n history and outbox
    rows (created + updated), every contact updated."""
    return {
        "contacts": n,
        "contact_emails": n,
        "history": 2 * n,
        "outbox_events": 2 * n,
        "updated": n,
    }


async def run_benchmark(
    n: int,
    backends: Sequence[str],
    callers: Sequence[int],
    databases: Databases,
    *,
    sync_baseline: bool = True,
    quiet: bool = False,
) -> Report:
    """Each backend and number of callers: raw baseline, Kith, then sqlite3."""
    runs: list[Run] = []
    for backend in backends:
        for c in callers:
            label = f"{backend} x{c}"
            raw = await bench_raw(await databases.fresh(backend), n, c, f"raw {label}", quiet)
            kith = await bench_kith(await databases.fresh(backend), n, c, f"kith {label}", quiet)
            for what, t in (("raw", raw), ("kith", kith)):
                if t.counts != expected_counts(n):
                    raise AssertionError(
                        f"{what} {label} left {t.counts}, not {expected_counts(n)}"
                    )
            sync = None
            if sync_baseline:
                sync = bench_sqlite3(await databases.fresh("sqlite"), n, quiet=quiet)
                if sync.counts != expected_counts(n):
                    raise AssertionError(f"sqlite3 left {sync.counts}, not {expected_counts(n)}")
            runs.append(Run(backend, c, kith, raw, sync))
    return Report(n, runs)


def main(argv: Sequence[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="commands of each kind (20000)")
    parser.add_argument("--db", default="sqlite,postgres", help="backends: sqlite,postgres")
    parser.add_argument("--callers", default="1,8", help="concurrent callers, e.g. 1,8")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (N=500)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL admin URL")
    args = parser.parse_args(argv)
    n = args.n or (500 if args.quick else 20_000)
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    for b in backends:
        if b not in BACKENDS:
            parser.error(f"--db: unknown backend {b!r} (choose from {', '.join(BACKENDS)})")
    callers = [int(c) for c in args.callers.split(",") if c.strip()]

    async def go() -> Report:
        async with Databases(args.pg_url) as databases:
            return await run_benchmark(n, backends, callers, databases)

    started = time.perf_counter()
    report = asyncio.run(go())
    print(f"\nN = {n:,} contact.create then {n:,} contact.update per run; cmd/s = commands/s")
    print(report.table(markdown=args.markdown))
    print()
    for line in report.verdicts():
        print(line)
    print(f"(whole run {time.perf_counter() - started:,.0f} s)")
    return report


if __name__ == "__main__":
    main()
