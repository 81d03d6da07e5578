"""Jobs benchmark: how fast due jobs drain, and how late they fire under load.

(a) Drain N due no-op jobs: jobs/s for SQLite embedded (the runner inside ``kith run``), and
    PostgreSQL + Redis / RabbitMQ with 1 and 2 ``kith worker`` processes.
(b) Fire lateness (finished_at - run_at) p50/p99 at an offered load of half the drain rate
    just measured, jobs due one after another over a few seconds.
Baselines measured in the same run: the same database writes (claim, then done, each in its
own transaction) done by a bare loop on the driver, and bare dramatiq pushing N no-op
messages through the same broker to the same number of worker processes.

    .venv/bin/python bench/jobs.py            # N = 50,000 (a few minutes)
    .venv/bin/python bench/jobs.py --quick    # N = 5,000
    .venv/bin/python bench/jobs.py --jobs 200 --lateness-s 1 --only sqlite  # smoke

Needs PostgreSQL, Redis and RabbitMQ for the scale rows (scripts/services.sh starts them).
Prints a Markdown table (docs/benchmarks.md, "## Jobs").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kith_bench_plugin  # noqa: E402

PG_ADMIN = os.environ.get("KITH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("KITH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP = os.environ.get("KITH_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
KITH = str(Path(sys.executable).parent / "kith")
JOB = "bench.noop"
TIMEOUT_S = 900


@dataclass
class Row:
    setup: str
    jobs_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    baselines: dict[str, float] = field(default_factory=dict)
    note: str = ""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


# ---- SQLite, embedded --------------------------------------------------------------------------


def sqlite_db(tmp: Path) -> str:
    from kith.migrate import migrate

    path = tmp / f"bench-{uuid.uuid4().hex[:6]}.db"
    migrate(f"sqlite:///{path}", ["kith.piccolo_app"])
    return str(path)


def sqlite_insert(path: str, run_ats: list[datetime]) -> None:
    now = iso(datetime.now(UTC))
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            'INSERT INTO "jobs" ("name", "payload", "run_at", "status", "attempts", '
            '"max_attempts", "created_at", "updated_at") VALUES (?, \'{}\', ?, \'scheduled\', '
            "0, 1, ?, ?)",
            [(JOB, iso(t), now, now) for t in run_ats],
        )
    conn.close()


def sqlite_count(path: str, status: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute('SELECT COUNT(*) FROM "jobs" WHERE "status" = ?', (status,)).fetchone()[
            0
        ]
    finally:
        conn.close()


def sqlite_lateness(path: str) -> list[float]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute('SELECT "run_at", "finished_at" FROM "jobs"').fetchall()
    finally:
        conn.close()
    return [
        (datetime.fromisoformat(f) - datetime.fromisoformat(r)).total_seconds() for r, f in rows
    ]


async def embedded_sqlite(tmp: Path, n: int, lateness_s: float) -> Row:
    import kith

    path = sqlite_db(tmp)
    settings = kith.Settings(database_url=f"sqlite:///{path}", plugins_file="/nonexistent")
    app = kith.Kith(settings, extra_plugins=[("bench", kith_bench_plugin.plugin)])
    sqlite_insert(path, [datetime.now(UTC)] * n)
    log(f"SQLite embedded: draining {n} jobs")
    start = time.perf_counter()
    await app.start(run_jobs=True)
    await wait_for(lambda: asyncio.to_thread(sqlite_count, path, "done"), n)
    elapsed = time.perf_counter() - start
    rate = n / elapsed
    row = Row("SQLite, embedded runner (in `kith run`)", rate)
    async with app.db.transaction() as tx:
        await tx.execute('DELETE FROM "jobs"')
    row.p50_ms, row.p99_ms = await lateness(
        rate,
        lateness_s,
        lambda ts: sqlite_insert(path, ts),
        path_counter(path),
        lambda: sqlite_lateness(path),
    )
    await app.stop()
    row.baselines["bare sqlite3 loop"] = bare_sqlite(path, n)
    return row


def path_counter(path: str):
    async def count() -> int:
        return await asyncio.to_thread(sqlite_count, path, "done")

    return count


def bare_sqlite(path: str, n: int) -> float:
    """The runner's writes per job — claim UPDATE, then done UPDATE, each its own
    transaction — on one sqlite3 connection with Kith's pragmas, in a bare loop."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute('DELETE FROM "jobs"')
    sqlite_insert(path, [datetime.now(UTC)] * n)
    ids = [r[0] for r in conn.execute('SELECT "id" FROM "jobs" ORDER BY "id"')]
    start = time.perf_counter()
    for job_id in ids:
        now = iso(datetime.now(UTC))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            'UPDATE "jobs" SET "status" = \'running\', "attempts" = "attempts" + 1, '
            '"lease_until" = ?, "worker" = ?, "updated_at" = ? WHERE "id" = ? '
            'AND "status" = \'scheduled\' AND "run_at" <= ? RETURNING *',
            (now, "bare", now, job_id, now),
        ).fetchall()
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            'UPDATE "jobs" SET "status" = \'done\', "finished_at" = ?, "updated_at" = ? '
            'WHERE "id" = ? AND "status" = \'running\' RETURNING "id"',
            (now, now, job_id),
        ).fetchall()
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(ids) / elapsed


# ---- shared helpers ----------------------------------------------------------------------------


async def wait_for(count, target: int, limit_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + limit_s
    while (done := await count()) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {target} jobs done after {limit_s:.0f} s")
        await asyncio.sleep(0.02)


async def lateness(rate: float, seconds: float, insert, done_count, read) -> tuple[float, float]:
    """Offer jobs at ``rate / 2`` per second for ``seconds``; p50 and p99 of lateness (ms)."""
    offered = max(1.0, rate / 2)
    count = max(2, int(offered * seconds))
    before = await done_count()
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    await asyncio.to_thread(insert, [t0 + timedelta(seconds=i / offered) for i in range(count)])
    log(f"  lateness: {count} jobs offered at {offered:.0f}/s")
    await wait_for(done_count, before + count, seconds + 60)
    log("  lateness: done")
    values = [v for v in await asyncio.to_thread(read) if v is not None]
    return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000


# ---- PostgreSQL ------------------------------------------------------------------------------


class PgBench:
    def __init__(self) -> None:
        self.name = f"kith_bench_{uuid.uuid4().hex[:8]}"
        self.url = PG_ADMIN.rsplit("/", 1)[0] + f"/{self.name}"

    async def create(self) -> None:
        import asyncpg
        from kith.migrate import migrate

        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        await asyncio.to_thread(migrate, self.url, ["kith.piccolo_app"])
        self.conn = await asyncpg.connect(self.url)

    async def drop(self) -> None:
        import asyncpg

        await self.conn.close()
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def reset(self) -> None:
        await self.conn.execute('TRUNCATE "jobs" RESTART IDENTITY')

    async def insert_due(self, n: int) -> None:
        async with self.conn.transaction():
            await self.conn.execute(
                'INSERT INTO "jobs" ("name", "payload", "run_at", "status", "attempts", '
                '"max_attempts", "created_at", "updated_at") SELECT $1, \'{}\', now(), '
                "'scheduled', 0, 1, now(), now() FROM generate_series(1, $2)",
                JOB,
                n,
            )
            await self.conn.execute("SELECT pg_notify('kith_jobs', '')")

    async def done(self) -> int:
        return await self.conn.fetchval('SELECT COUNT(*) FROM "jobs" WHERE "status" = \'done\'')

    async def lateness_values(self) -> list[float]:
        rows = await self.conn.fetch(
            'SELECT EXTRACT(EPOCH FROM ("finished_at" - "run_at")) AS s FROM "jobs" ORDER BY "id"'
        )
        return [float(r["s"]) for r in rows]

    async def leader(self) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )

    async def bare_loop(self, n: int) -> float:
        """Claim and done UPDATEs, each in its own transaction, one connection, bare loop."""
        await self.reset()
        await self.insert_due(n)
        ids = [r["id"] for r in await self.conn.fetch('SELECT "id" FROM "jobs" ORDER BY "id"')]
        conn = self.conn
        start = time.perf_counter()
        for job_id in ids:
            now = datetime.now(UTC)
            async with conn.transaction():
                await conn.fetchrow(
                    'UPDATE "jobs" SET "status" = \'running\', "attempts" = "attempts" + 1, '
                    '"lease_until" = $1, "worker" = $2, "updated_at" = $3 WHERE "id" = $4 '
                    'AND "status" = \'scheduled\' AND "run_at" <= $5 RETURNING *',
                    now + timedelta(minutes=5),
                    "bare",
                    now,
                    job_id,
                    now,
                )
            async with conn.transaction():
                await conn.fetchrow(
                    'UPDATE "jobs" SET "status" = \'done\', "finished_at" = $1, "updated_at" = $2 '
                    'WHERE "id" = $3 AND "status" = \'running\' RETURNING "id"',
                    now,
                    now,
                    job_id,
                )
        return len(ids) / (time.perf_counter() - start)


class Workers:
    """``kith worker`` subprocesses with the bench plugin installed by entry point."""

    def __init__(self, tmp: Path, db_url: str, broker_url: str, count: int) -> None:
        self.queue = f"kith_bench_{uuid.uuid4().hex[:8]}"
        self.broker_url = broker_url
        site = tmp / "site"
        dist = site / "kith_bench_plugin-0.1.dist-info"
        dist.mkdir(parents=True, exist_ok=True)
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: kith-bench-plugin\nVersion: 0.1\n"
        )
        (dist / "entry_points.txt").write_text("[kith.plugins]\nbench = kith_bench_plugin:plugin\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
        others = [ep.name for ep in entry_points(group="kith.plugins") if ep.name != "bench"]
        (tmp / "none.toml").write_text(  # only the bench plugin among installed ones
            "".join(f"[plugins.{name}]\nenabled = false\n" for name in others), encoding="utf-8"
        )
        env.update(
            PYTHONPATH=os.pathsep.join([str(site), str(HERE)]),
            KITH_DATABASE_URL=db_url,
            KITH_BROKER_URL=broker_url,
            KITH_BROKER_QUEUE=self.queue,
            KITH_PLUGINS_FILE=str(tmp / "none.toml"),
            KITH_LOG_LEVEL="info",
            KITH_SMTP_PORT="0",  # never the real 2525
        )
        self.logs = [tmp / f"worker-{self.queue}-{i}.log" for i in range(count)]
        self.procs = []
        for path in self.logs:
            with path.open("w") as out:
                self.procs.append(
                    subprocess.Popen(
                        [KITH, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
                    )
                )

    async def ready(self, limit_s: float = 60) -> None:
        deadline = time.monotonic() + limit_s
        while not all("threads on queue" in p.read_text() for p in self.logs):
            for proc, path in zip(self.procs, self.logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("workers did not start")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        from kith.broker import JobTransport
        from kith.testing_jobs import delete_queue

        transport = JobTransport(self.broker_url, self.queue)
        delete_queue(transport)
        transport.close()


async def scale(tmp: Path, broker: str, url: str, workers: int, n: int, lateness_s: float) -> Row:
    pg = PgBench()
    await pg.create()
    try:
        w = Workers(tmp, pg.url, url, workers)
        try:
            await w.ready()
            deadline = time.monotonic() + 30
            while not await pg.leader():
                if time.monotonic() > deadline:
                    raise TimeoutError("no scheduler leader")
                await asyncio.sleep(0.1)
            log(f"PostgreSQL + {broker}, {workers} worker(s): draining {n} jobs")
            start = time.perf_counter()
            await pg.insert_due(n)
            await wait_for(pg.done, n)
            rate = n / (time.perf_counter() - start)
            row = Row(
                f"PostgreSQL + {broker}, {workers} worker process{'es' if workers > 1 else ''}",
                rate,
            )
            await pg.reset()
            row.p50_ms, row.p99_ms = await lateness(
                rate,
                lateness_s,
                lambda ts: asyncio.run(_insert_at(pg.url, ts)),
                pg.done,
                lambda: asyncio.run(_lateness_values(pg.url)),
            )
        finally:
            w.stop()
        log("  baseline: bare asyncpg loop")
        row.baselines["bare asyncpg loop"] = await pg.bare_loop(n)
        log("  baseline: bare dramatiq")
        row.baselines[f"bare dramatiq, {workers} proc"] = bare_dramatiq(tmp, url, workers, n)
        return row
    finally:
        await pg.drop()


async def _insert_at(url: str, run_ats: list[datetime]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "jobs",
            records=[(JOB, "{}", t, "scheduled", 0, 1, now, now) for t in run_ats],
            columns=[
                "name",
                "payload",
                "run_at",
                "status",
                "attempts",
                "max_attempts",
                "created_at",
                "updated_at",
            ],
        )
    finally:
        await conn.close()


async def _lateness_values(url: str) -> list[float]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            'SELECT EXTRACT(EPOCH FROM ("finished_at" - "run_at")) AS s FROM "jobs" ORDER BY "id"'
        )
    finally:
        await conn.close()
    return [float(r["s"]) for r in rows]


# ---- bare dramatiq -----------------------------------------------------------------------------


def bare_worker_main(url: str, queue: str, threads: int) -> None:
    """A bare dramatiq worker process with one no-op actor (``--bare-worker``)."""
    import threading

    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url) if url.startswith("redis") else RabbitmqBroker(url=url)
    dramatiq.set_broker(broker)
    dramatiq.Actor(
        lambda i: None,
        broker=broker,
        actor_name="noop",
        queue_name=queue,
        priority=0,
        options={"max_retries": 0},
    )
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=250)
    worker.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    stop.wait()
    worker.stop()


def bare_dramatiq(tmp: Path, url: str, workers: int, n: int, threads: int = 8) -> float:
    """N no-op messages enqueued and consumed by ``workers`` bare dramatiq processes."""
    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.brokers.redis import RedisBroker

    queue = f"kith_bare_{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(url=url) if url.startswith("redis") else RabbitmqBroker(url=url)
    dramatiq.set_broker(broker)
    actor = dramatiq.Actor(
        lambda i: None,
        broker=broker,
        actor_name="noop",
        queue_name=queue,
        priority=0,
        options={"max_retries": 0},
    )
    logs = [tmp / f"bare-{queue}-{i}.log" for i in range(workers)]
    procs = []
    for path in logs:
        with path.open("w") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--bare-worker", url, queue, str(threads)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 60
        while not all("ready" in p.read_text() for p in logs):
            if time.monotonic() > deadline:
                raise TimeoutError("bare workers did not start")
            time.sleep(0.1)
        time.sleep(0.5)
        start = time.perf_counter()
        for i in range(n):
            actor.send(i)
        deadline = time.monotonic() + TIMEOUT_S
        while remaining(broker, queue) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("bare dramatiq did not drain")
            time.sleep(0.02)
        return n / (time.perf_counter() - start)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            broker.flush(queue)
            if not url.startswith("redis"):
                for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                    broker.channel.queue_delete(queue=name)
        except Exception as exc:
            log(f"could not delete {queue}: {exc}")
        broker.close()


def remaining(broker, queue: str) -> int:
    """Messages not yet acknowledged (Redis: exact; RabbitMQ: ready ones, i.e. at most the
    workers' prefetch short)."""
    if hasattr(broker, "client"):
        return int(broker.client.hlen(f"{broker.namespace}:{queue}.msgs"))
    return broker.get_queue_message_counts(queue)[0]


# ---- main --------------------------------------------------------------------------------------


def fmt(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def table(rows: list[Row], n: int, lateness_s: float) -> str:
    out = [
        f"Drain {n:,} due no-op jobs; lateness at half the drain rate over {lateness_s:g} s "
        f"(finished_at - run_at). Same run, same machine: baselines in the last column.",
        "",
        "| setup | jobs/s | lateness p50 | lateness p99 | baselines (same run) |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        base = "; ".join(
            f"{k}: {v:,.0f}/s (Kith = {r.jobs_s / v:.2f}x)"
            for k, v in r.baselines.items()
            if r.jobs_s
        )
        lat = f"{fmt(r.p50_ms)} ms | {fmt(r.p99_ms)} ms"
        out.append(f"| {r.setup} | {fmt(r.jobs_s)} | {lat} | {base}{r.note} |")
    return "\n".join(out)


async def run(args: argparse.Namespace) -> str:
    only = set(args.only.split(",")) if args.only else {"sqlite", "redis", "rabbitmq"}
    workers = [int(w) for w in args.workers.split(",")]
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="kith-bench-jobs-"))
    try:
        if "sqlite" in only:
            rows.append(await embedded_sqlite(tmp, args.jobs, args.lateness_s))
            log(f"  {rows[-1]}")
        for broker, url in (("Redis", REDIS), ("RabbitMQ", AMQP)):
            if broker.lower() not in only:
                continue
            for count in workers:
                rows.append(await scale(tmp, broker, url, count, args.jobs, args.lateness_s))
                log(f"  {rows[-1]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return table(rows, args.jobs, args.lateness_s)


def main(argv: list[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--bare-worker"]:
        bare_worker_main(argv[1], argv[2], int(argv[3]))
        return ""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 5,000, 3 s of lateness")
    parser.add_argument("--jobs", type=int, default=None, help="N (default 50,000)")
    parser.add_argument("--lateness-s", type=float, default=None, help="default 10 (quick: 3)")
    parser.add_argument("--only", default="", help="sqlite,redis,rabbitmq (default: all)")
    parser.add_argument("--workers", default="1,2", help="worker process counts (default 1,2)")
    args = parser.parse_args(argv)
    if args.jobs is None:
        args.jobs = 5_000 if args.quick else 50_000
    if args.lateness_s is None:
        args.lateness_s = 3.0 if args.quick else 10.0
    result = asyncio.run(run(args))
    print(result)
    return result


if __name__ == "__main__":
    main()
