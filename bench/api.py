"""REST API requests per second and p99 latency, against a bare endpoint doing the same writes.

For each backend, on fresh databases made with ``kith.migrate.migrate``:

* **Kith**: ``kith run`` serving the REST API — one process on SQLite, two processes (two
  ports, the load spread over both) on PostgreSQL. ``POST /api/v1/contacts`` (contact.create,
  each with a unique email) and ``PATCH /api/v1/contacts/{id}`` (contact.update: new name and
  title), with a bearer token, through authentication, the rate limit, parsing, permission,
  the command's transaction with its history and outbox rows, and event delivery.
* **bare**: a bare litestar endpoint in the same uvicorn (same number of processes) doing the
  same writes through the raw async driver (aiosqlite on one connection with a lock around
  each ``BEGIN IMMEDIATE`` transaction; an asyncpg pool): create = INSERT contact, INSERT its
  email row, INSERT history row, INSERT outbox row; update = SELECT the contact, UPDATE it,
  INSERT history, INSERT outbox. No auth, no validation beyond ``json.loads``.

The load generator (this process, asyncio, keep-alive HTTP/1.1 connections, one request at a
time per connection) runs on the same machine. Each measurement alternates Kith and bare at
the same concurrency so both see the same machine load; the ratio is Kith's time per request
over bare's. Targets (issue 6): ≥ 600 requests/s on SQLite and on PostgreSQL, p99 < 50 ms at
concurrency 8, Kith ≤ 3x the bare endpoint's time.

    .venv/bin/python bench/api.py                      # 3,000 requests per cell, both DBs
    .venv/bin/python bench/api.py --quick              # smoke run (100 per cell)
    .venv/bin/python bench/api.py --db sqlite --n 5000 --write-docs docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, patch, post

PG_ADMIN_URL = os.environ.get("KITH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgres")
OPS = ("create", "update")
ADMIN_EMAIL = "bench@example.com"
TARGET_RATE = 600.0
TARGET_P99_MS = 50.0
TARGET_RATIO = 3.0
SECTION = "## REST API"


# ---- the bare endpoint (run with --serve-bare) -------------------------------------------------


def bare_app(db_url: str) -> Any:
    """A litestar app doing contact.create / contact.update's writes with the raw driver."""
    sqlite = db_url.startswith("sqlite")
    state: dict[str, Any] = {}

    def ts(dt: datetime) -> Any:
        return dt.isoformat() if sqlite else dt

    def marks(n: int) -> str:
        return ", ".join("?" if sqlite else f"${i}" for i in range(1, n + 1))

    ins_contact = (
        'INSERT INTO "contacts" ("name", "email", "phone", "title", "lifecycle_stage", '
        '"owner_id", "custom", "consent", "created_at", "updated_at", "created_by") '
        f"VALUES ({marks(11)}) RETURNING *"
    )
    ins_email = (
        'INSERT INTO "contact_emails" ("contact_id", "email", "is_primary", "undeliverable") '
        f"VALUES ({marks(4)})"
    )
    ins_history = (
        'INSERT INTO "history" ("at", "actor", "actor_user_id", "command", "entity", '
        f'"entity_id", "action", "changes") VALUES ({marks(8)})'
    )
    ins_outbox = (
        'INSERT INTO "outbox_events" ("event_id", "name", "entity", "entity_id", "actor", "at", '
        f'"data", "claimed_by", "claimed_at") VALUES ({marks(9)})'
    )
    sel_contact = f'SELECT * FROM "contacts" WHERE "id" = {marks(1)}'
    p = [f"${i}" for i in range(1, 5)] if not sqlite else ["?"] * 4
    upd_contact = (
        f'UPDATE "contacts" SET "name" = {p[0]}, "title" = {p[1]}, "updated_at" = {p[2]} '
        f'WHERE "id" = {p[3]}'
    )

    def row_json(row: dict[str, Any]) -> bytes:
        return json.dumps(dict(row), default=str).encode()

    async def tx_sqlite(fn: Any) -> Any:
        conn = state["conn"]
        async with state["lock"]:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                result = await fn(conn)
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
        return result

    async def tx_pg(fn: Any) -> Any:
        async with state["pool"].acquire() as conn, conn.transaction():
            return await fn(conn)

    async def fetchrow(conn: Any, sql: str, args: list[Any]) -> dict[str, Any]:
        if sqlite:
            cur = await conn.execute(sql, args)
            names = [d[0] for d in cur.description]
            row = await cur.fetchone()
            await cur.close()
            return dict(zip(names, row, strict=True))
        return dict(await conn.fetchrow(sql, *args))

    async def execute(conn: Any, sql: str, args: list[Any]) -> None:
        if sqlite:
            await conn.execute(sql, args)
        else:
            await conn.execute(sql, *args)

    async def write_create(conn: Any, data: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = await fetchrow(
            conn,
            ins_contact,
            [
                data["name"],
                data.get("email"),
                data.get("phone"),
                data.get("title"),
                "subscriber",
                1,
                "{}",
                "{}",
                ts(now),
                ts(now),
                1,
            ],
        )
        await execute(conn, ins_email, [row["id"], data["email"], True, False])
        changes = json.dumps({k: [None, v] for k, v in data.items()})
        await execute(
            conn,
            ins_history,
            [ts(now), "bare", 1, "contact.create", "contact", row["id"], "created", changes],
        )
        event = json.dumps({"record": {**data, "id": row["id"]}})
        await execute(
            conn,
            ins_outbox,
            [
                uuid.uuid4().hex,
                "contact.created",
                "contact",
                row["id"],
                "bare",
                ts(now),
                event,
                "bare",
                ts(now),
            ],
        )
        return row

    async def write_update(conn: Any, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = await fetchrow(conn, sel_contact, [contact_id])
        await execute(conn, upd_contact, [data["name"], data["title"], ts(now), contact_id])
        changes = json.dumps(
            {"name": [row["name"], data["name"]], "title": [row["title"], data["title"]]}
        )
        await execute(
            conn,
            ins_history,
            [ts(now), "bare", 1, "contact.update", "contact", contact_id, "updated", changes],
        )
        await execute(
            conn,
            ins_outbox,
            [
                uuid.uuid4().hex,
                "contact.updated",
                "contact",
                contact_id,
                "bare",
                ts(now),
                json.dumps({"changes": json.loads(changes)}),
                "bare",
                ts(now),
            ],
        )
        return {**row, "name": data["name"], "title": data["title"], "updated_at": now}

    tx = tx_sqlite if sqlite else tx_pg

    @post("/contacts", status_code=201)
    async def create(request: Request[Any, Any, Any]) -> Response[bytes]:
        data = json.loads(await request.body())
        row = await tx(lambda conn: write_create(conn, data))
        return Response(content=row_json(row), status_code=201, media_type="application/json")

    @patch("/contacts/{contact_id:int}")
    async def update(contact_id: int, request: Request[Any, Any, Any]) -> Response[bytes]:
        data = json.loads(await request.body())
        row = await tx(lambda conn: write_update(conn, contact_id, data))
        return Response(content=row_json(row), media_type="application/json")

    async def startup() -> None:
        if sqlite:
            import aiosqlite

            conn = await aiosqlite.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            state["conn"] = conn
            state["lock"] = asyncio.Lock()
        else:
            import asyncpg

            state["pool"] = await asyncpg.create_pool(db_url, min_size=2, max_size=10)

    async def shutdown() -> None:
        if "conn" in state:
            await state["conn"].close()
        if "pool" in state:
            await state["pool"].close()

    return Litestar([create, update], on_startup=[startup], on_shutdown=[shutdown], debug=False)


# ---- a keep-alive HTTP/1.1 client ----------------------------------------------------------------


class Connection:
    """One keep-alive connection; one request at a time (cheap, to leave the CPU to servers)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()

    async def request(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        data = json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload


# ---- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            tail = (await asyncio.to_thread(log.read_text))[-3000:]
            raise RuntimeError(f"server on port {port} died:\n{tail}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            await w.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.2)
    tail = (await asyncio.to_thread(log.read_text))[-3000:]
    raise RuntimeError(f"server on port {port} did not start:\n{tail}")


@asynccontextmanager
async def servers(kind: str, db_url: str, count: int, tmp: Path) -> AsyncIterator[list[int]]:
    """``count`` processes of ``kind`` (kith | bare) on free ports."""
    plugins = tmp / "plugins.toml"
    plugins.write_text("[plugins.api]\nrate_limit = 100000000\n", encoding="utf-8")
    env = {
        **os.environ,
        "KITH_DATABASE_URL": db_url,
        "KITH_PLUGINS_FILE": str(plugins),
        "KITH_LOG_LEVEL": "warning",
        "KITH_SMTP_PORT": "0",  # never the real 2525
    }
    procs: list[tuple[asyncio.subprocess.Process, Any]] = []
    ports: list[int] = []
    try:
        for i in range(count):
            port = free_port()
            log_path = tmp / f"{kind}-{i}.log"
            log = log_path.open("w")
            if kind == "kith":
                cmd = [str(Path(sys.executable).with_name("kith")), "run", "--port", str(port)]
            else:
                cmd = [sys.executable, __file__, "--serve-bare", db_url, "--port", str(port)]
            proc = await asyncio.create_subprocess_exec(*cmd, env=env, stdout=log, stderr=log)
            procs.append((proc, log))
            await wait_ready(port, proc, log_path)
            ports.append(port)
        yield ports
    finally:
        for proc, log in procs:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            log.close()


# ---- measuring -----------------------------------------------------------------------------------


@dataclass
class Cell:
    target: str
    backend: str
    op: str
    concurrency: int
    n: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Target:
    """Where requests go: Kith's API or the bare endpoint, on one or more ports."""

    def __init__(self, name: str, ports: list[int], headers: dict[str, str]) -> None:
        self.name = name
        self.ports = ports
        self.headers = headers
        self.created: list[int] = []
        self.serial = 0

    def path(self, op: str, contact_id: int | None = None) -> tuple[str, str]:
        prefix = "/api/v1/contacts" if self.name == "kith" else "/contacts"
        return ("POST", prefix) if op == "create" else ("PATCH", f"{prefix}/{contact_id}")

    async def run(self, backend: str, op: str, concurrency: int, n: int) -> Cell:
        conns = [
            Connection(self.ports[i % len(self.ports)], self.headers) for i in range(concurrency)
        ]
        for c in conns:
            await c.open()
        latencies: list[float] = []
        errors = 0
        items = iter(range(n))
        tag = self.serial
        self.serial += 1

        async def worker(conn: Connection) -> None:
            nonlocal errors
            for i in items:
                if op == "create":
                    key = f"{tag}-{i}-{uuid.uuid4().hex[:6]}"
                    body = {
                        "name": f"Contact {key}",
                        "email": f"c{key}@bench.example.com",
                        "phone": "+33 1 23 45 67 89",
                        "title": "Engineer",
                    }
                    method, path = self.path(op)
                else:
                    contact_id = self.created[i % len(self.created)]
                    body = {"name": f"Contact {contact_id} v{tag}-{i}", "title": f"Manager {tag}"}
                    method, path = self.path(op, contact_id)
                started = time.perf_counter()
                status, payload = await conn.request(method, path, body)
                latencies.append(time.perf_counter() - started)
                if status >= 300:
                    errors += 1
                    if errors <= 3:
                        print(
                            f"  {self.name} {op}: HTTP {status} {payload[:200]!r}", file=sys.stderr
                        )
                elif op == "create" and len(self.created) < 5000:
                    self.created.append(json.loads(payload)["id"])

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        seconds = time.perf_counter() - started
        for c in conns:
            await c.close()
        return Cell(self.name, backend, op, concurrency, n, seconds, latencies, errors)


async def fresh_database(backend: str, tmp: Path, label: str) -> tuple[str, Any]:
    """A migrated database; returns its URL and a cleanup coroutine function."""
    from kith import Kith, Settings
    from kith.migrate import migrate

    apps = Kith(Settings(database_url="sqlite:///:memory:")).hooks.tables()
    if backend == "sqlite":
        url = f"sqlite:///{tmp / (label + '.db')}"
        migrate(url, apps)

        async def nothing() -> None:
            return None

        return url, nothing
    import asyncpg

    name = f"kith_bench_api_{label}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    migrate(url, apps)

    async def drop() -> None:
        c = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await c.close()

    return url, drop


async def admin_and_token(db_url: str) -> str:
    import kith
    from kith import Kith, Settings

    app = Kith(Settings(database_url=db_url, plugins_file="/nonexistent.toml"))
    async with app:
        admin = await app.run(
            "user.create", {"email": ADMIN_EMAIL, "name": "Bench", "role": "admin"}, kith.SYSTEM
        )
        created = await app.run("token.create", {"user": admin.id, "name": "bench"}, kith.SYSTEM)
        await app.drain()
    return created.token


async def bench_backend(
    backend: str, n: int, concurrencies: list[int], warmup: int, tmp: Path
) -> list[Cell]:
    processes = 1 if backend == "sqlite" else 2
    kith_url, drop_kith = await fresh_database(backend, tmp, "kith")
    bare_url, drop_bare = await fresh_database(backend, tmp, "bare")
    cells: list[Cell] = []
    try:
        token = await admin_and_token(kith_url)
        await admin_and_token(bare_url)  # the same user row, so owner_id 1 exists
        async with (
            servers("kith", kith_url, processes, tmp) as kith_ports,
            servers("bare", bare_url, processes, tmp) as bare_ports,
        ):
            targets = [
                Target("kith", kith_ports, {"Authorization": f"Bearer {token}"}),
                Target("bare", bare_ports, {}),
            ]
            for t in targets:  # warm up (imports, caches, connection pools, first pages)
                await t.run(backend, "create", 2, warmup)
            for op in OPS:
                for c in concurrencies:
                    for t in targets:
                        cell = await t.run(backend, op, c, n)
                        cells.append(cell)
                        print(
                            f"  {backend:8} {t.name:4} {op:6} c={c}: {cell.rate:8,.0f} req/s  "
                            f"p50 {cell.pct(0.5):6.1f} ms  p99 {cell.pct(0.99):6.1f} ms"
                            + (f"  ERRORS {cell.errors}" if cell.errors else ""),
                            file=sys.stderr,
                        )
    finally:
        await drop_kith()
        await drop_bare()
    return cells


def table(cells: list[Cell]) -> str:
    lines = [
        "| database | op | concurrency | Kith req/s | Kith p50 ms | Kith p99 ms "
        "| bare req/s | bare p99 ms | Kith time ÷ bare |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_key = {(c.target, c.backend, c.op, c.concurrency): c for c in cells}
    for c in cells:
        if c.target != "kith":
            continue
        b = by_key[("bare", c.backend, c.op, c.concurrency)]
        procs = "1 process" if c.backend == "sqlite" else "2 processes"
        lines.append(
            f"| {c.backend} ({procs}) | contact.{c.op} | {c.concurrency} | {c.rate:,.0f} "
            f"| {c.pct(0.5):.1f} | {c.pct(0.99):.1f} | {b.rate:,.0f} | {b.pct(0.99):.1f} "
            f"| {b.rate / c.rate:.2f}x |"
        )
    return "\n".join(lines)


def verdicts(cells: list[Cell]) -> list[str]:
    out: list[str] = []
    by_key = {(c.target, c.backend, c.op, c.concurrency): c for c in cells}
    for c in cells:
        if c.target != "kith":
            continue
        b = by_key[("bare", c.backend, c.op, c.concurrency)]
        label = f"{c.backend} contact.{c.op} c={c.concurrency}"
        ok_rate = c.rate >= TARGET_RATE
        ok_ratio = b.rate / c.rate <= TARGET_RATIO
        ok_p99 = c.concurrency != 8 or c.pct(0.99) < TARGET_P99_MS
        if not (ok_rate and ok_ratio and ok_p99):
            misses = []
            if not ok_rate:
                misses.append(f"{c.rate:,.0f} req/s < {TARGET_RATE:,.0f}")
            if not ok_p99:
                misses.append(f"p99 {c.pct(0.99):.1f} ms ≥ {TARGET_P99_MS:.0f}")
            if not ok_ratio:
                misses.append(f"{b.rate / c.rate:.2f}x the bare time > {TARGET_RATIO:.0f}x")
            out.append(f"{label}: " + "; ".join(misses))
    return out


def report(cells: list[Cell], n: int, load_before: tuple[float, float, float]) -> str:
    misses = verdicts(cells)
    cpu = os.cpu_count()
    body = [
        SECTION,
        "",
        f"`bench/api.py` ({datetime.now(UTC).date().isoformat()}, {cpu} cores, Python "
        f"{platform.python_version()}, load average before the run "
        f"{load_before[0]:.1f} — the machine is shared, so only the ratios measured in the same "
        f"run mean much). {n:,} requests per cell over keep-alive HTTP/1.1 connections (one "
        "request in flight per connection; concurrency = connections), the load generator on "
        "the same machine. Kith = `kith run` (uvicorn, REST API with a bearer token, rate limit "
        "on); bare = a litestar endpoint in the same uvicorn doing the same writes through the "
        "raw async driver (contact + email + history + outbox rows in one transaction; update: "
        "select, update, history, outbox), no auth and no validation. PostgreSQL: two processes "
        "of each on two ports, connections spread over both.",
        "",
        table(cells),
        "",
        "Targets: ≥ 600 req/s, p99 < 50 ms at concurrency 8, Kith ≤ 3x the bare time. "
        + ("All met in this run." if not misses else "Missed in this run: " + " · ".join(misses)),
    ]
    return "\n".join(body) + "\n"


def write_docs(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[end + 1 :] if end != -1 else "")
    path.write_text(text, encoding="utf-8")


async def main_async(args: argparse.Namespace) -> int:
    n = 100 if args.quick and not args.n else (args.n or 3000)
    warmup = 20 if args.quick else 300
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="kith-bench-api-"))
    cells: list[Cell] = []
    try:
        for backend in backends:
            print(f"{backend}: {n} requests per cell", file=sys.stderr)
            cells += await bench_backend(backend, n, concurrencies, warmup, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(cells, n, load_before)
    print(text)
    if args.write_docs:
        write_docs(Path(args.write_docs), text)
    if any(c.errors for c in cells):
        print("some requests failed", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 requests per cell")
    parser.add_argument("--n", type=int, default=0, help="requests per cell (default 3000)")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated, default 1,8")
    parser.add_argument("--write-docs", metavar="PATH", help="replace the REST API section there")
    parser.add_argument("--serve-bare", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        import uvicorn

        uvicorn.run(
            bare_app(args.serve_bare),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
        return
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
