"""Jobs across real processes and real failures: ``kith worker`` and ``kith run`` killed with
SIGKILL mid-job, two schedulers over 1,000 jobs, the broker restarted mid-run.

These tests use the real clock (the subprocesses do) and poll with bounded timeouts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import kith
import pytest
from kith.testing_jobs import BrokerHarness, check_reachable

SUPPORT = Path(__file__).resolve().parents[1] / "support"
sys.path.insert(0, str(SUPPORT))

import kith_jobs_testplugin  # noqa: E402

KITH = str(Path(sys.executable).parent / "kith")
GATE = threading.Event()  # chaos jobs with n >= GATED wait for it
GATED = 40


@kith.job("chaos.effect", lease=timedelta(seconds=30))
async def chaos_effect(ctx, payload):
    """Create task ``chaos <n>``; jobs past the first few wait for the test's gate."""
    if payload["n"] >= GATED:
        await asyncio.to_thread(GATE.wait, 30)
    await kith_jobs_testplugin.effect_row(ctx, f"chaos {payload['n']}")


class ChaosPlugin:
    @kith.hookimpl
    def kith_jobs(self):
        return [chaos_effect]


@pytest.fixture
def clock():
    return kith.SystemClock()


@pytest.fixture
def kith_plugins():
    GATE.clear()
    return [("proctest", kith_jobs_testplugin.plugin), ("chaos", ChaosPlugin())]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tails(proc_logs) -> str:
    return "\n".join(f"--- {p}:\n{Path(p).read_text()[-3000:]}" for p in proc_logs)


def wait_until(condition, what: str, limit_s: float = 20.0, proc_logs=()) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {limit_s:.0f} s waiting until {what}\n{tails(proc_logs)}")
        time.sleep(0.05)


async def await_until(condition, what: str, limit_s: float = 20.0, proc_logs=()) -> None:
    deadline = time.monotonic() + limit_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {limit_s:.0f} s waiting until {what}\n{tails(proc_logs)}")
        await asyncio.sleep(0.05)


class Processes:
    """Subprocesses started by one test (killed by pid at the end, never by name)."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def spawn(self, *args: str, **env: str) -> subprocess.Popen:
        log = self.tmp / f"proc{len(self.procs)}-{args[0]}.log"
        out = log.open("w")
        proc = subprocess.Popen(
            [KITH, *args],
            env={**self.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        out.close()
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def stop(self, proc: subprocess.Popen, limit_s: float = 15.0) -> int:
        """SIGTERM, and the exit code: 0, or -15 from uvicorn (it re-raises the signal once
        it has shut down gracefully)."""
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(limit_s)
            return 0 if code == -signal.SIGTERM else code
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"{proc.args} did not stop within {limit_s:.0f} s after SIGTERM")

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def processes(tmp_path, kith_db_url):
    """Start ``kith`` subprocesses on the test's database, with the test plugin installed
    through an entry point."""
    site = tmp_path / "site"
    dist = site / "kith_jobs_testplugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kith-jobs-testplugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[kith.plugins]\nproctest = kith_jobs_testplugin:plugin\n"
    )
    # Only the test plugin among installed ones (./dev test installs examples/kith-renewals).
    others = [ep.name for ep in entry_points(group="kith.plugins") if ep.name != "proctest"]
    (tmp_path / "plugins.toml").write_text(
        "".join(f"[plugins.{name}]\nenabled = false\n" for name in others), encoding="utf-8"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KITH_")},
        "PYTHONPATH": os.pathsep.join([str(site), str(SUPPORT)]),
        "KITH_DATABASE_URL": kith_db_url,
        "KITH_PLUGINS_FILE": str(tmp_path / "plugins.toml"),
        "KITH_TEST_MARKER": str(tmp_path / "marker"),
        "KITH_JOB_POLL_S": "0.2",
        "KITH_JOB_RESEND_S": "2",
        "KITH_LOG_LEVEL": "warning",
        "dramatiq_restart_delay": "200",
    }
    procs = Processes(tmp_path, env)
    yield procs
    procs.cleanup()


async def insert_due_jobs(kith_app, name: str, count: int) -> None:
    """Many due jobs at once (test set-up: one statement, many rows)."""
    db = kith_app.db
    codec = db.statements.codec(kith.tables.Job)
    now = kith_app.clock.now()
    cols = ["name", "payload", "run_at", "status", "max_attempts", "created_at", "updated_at"]
    rows = [[name, {"n": n}, now, "scheduled", 5, now, now] for n in range(count)]
    async with db.transaction() as tx:
        tx.defer_many(
            db.statements.insert(kith.tables.Job, cols, returning=False),
            [[codec.encode(c, v) for c, v in zip(cols, r, strict=True)] for r in rows],
        )
        if db.dialect == "postgres":
            tx.defer("SELECT pg_notify('kith_jobs', '')")


async def effects(kith_app) -> tuple[int, int]:
    row = await kith_app.db.fetchone(
        'SELECT COUNT(*) AS n, COUNT(DISTINCT "title") AS d FROM "tasks"'
    )
    return int(row["n"]), int(row["d"])


async def job_states(kith_app) -> dict[str, int]:
    """Statuses of this module's jobs (bundled plugins schedule recurring jobs of their own)."""
    rows = await kith_app.db.fetch(
        'SELECT "status", COUNT(*) AS n FROM "jobs" WHERE "name" LIKE \'proctest.%\' '
        'OR "name" LIKE \'chaos.%\' '
        'GROUP BY "status"'
    )
    return {r["status"]: int(r["n"]) for r in rows}


def flush_queue(url: str, queue: str) -> None:
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"dramatiq:{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()
    else:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(url))
        channel = conn.channel()
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(queue=name)
        conn.close()


@pytest.fixture
def broker_queue(request):
    """A queue of the test's own on the shared brokers (deleted afterwards)."""
    queue = f"kith_test_{uuid.uuid4().hex[:12]}"
    used: list[str] = []
    yield queue, used
    for url in used:
        try:
            flush_queue(url, queue)
        except Exception as exc:  # the test's result matters more than the cleanup
            print(f"could not delete queue {queue} on {url}: {exc}")


# ---- kith worker killed mid-job --------------------------------------------------------------


@pytest.mark.kith_backends("postgres")
async def test_a_worker_killed_mid_job_loses_nothing_and_the_effect_happens_once(
    kith_app, processes, broker_queue, request
):
    url = str(request.config.getoption("--kith-redis-url"))
    check_reachable(url)
    queue, used = broker_queue
    used.append(url)
    env = {"KITH_BROKER_URL": url, "KITH_BROKER_QUEUE": queue}
    await kith_app.run("proctest.schedule", {"count": 1, "slow_first": True}, kith.SYSTEM)
    marker = Path(processes.env["KITH_TEST_MARKER"])

    first = processes.spawn("worker", "--threads", "2", **env)
    wait_until(marker.exists, "the first worker is mid-job", 30, processes.logs)
    (job,) = await kith_app.db.fetch('SELECT * FROM "jobs"')
    assert (job["status"], job["attempts"]) == ("running", 1)
    assert await effects(kith_app) == (0, 0)  # written, not committed
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    second = processes.spawn("worker", "--threads", "2", **env)

    async def done() -> bool:
        return (await job_states(kith_app)).get("done") == 1

    await await_until(done, "the job ran again after its lease", 30, processes.logs)
    (job,) = await kith_app.db.fetch('SELECT * FROM "jobs"')
    assert job["attempts"] == 2
    assert await effects(kith_app) == (1, 1)  # once
    assert processes.stop(second) == 0


# ---- kith run (SQLite) killed with jobs pending ------------------------------------------------


@pytest.mark.kith_backends("sqlite")
async def test_kith_run_killed_with_jobs_pending_runs_them_all_after_a_restart(kith_app, processes):
    await kith_app.run("proctest.schedule", {"count": 20, "slow_first": True}, kith.SYSTEM)
    marker = Path(processes.env["KITH_TEST_MARKER"])
    port = str(free_port())

    server = processes.spawn("run", "--port", port)
    wait_until(marker.exists, "kith run is mid-job", 30, processes.logs)
    assert await effects(kith_app) == (0, 0)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    states = await job_states(kith_app)  # claimed in one batch: running, or still waiting
    assert "done" not in states and sum(states.values()) == 20

    server = processes.spawn("run", "--port", port)

    async def all_done() -> bool:
        return (await job_states(kith_app)).get("done") == 20

    await await_until(all_done, "every job ran after the restart", 30, processes.logs)
    assert await effects(kith_app) == (20, 20)
    assert processes.stop(server) == 0


# ---- two schedulers over 1,000 jobs ------------------------------------------------------------


async def test_two_embedded_runners_over_1000_jobs_run_each_once(
    kith_app, kith_db_url, kith_plugins, clock
):
    await insert_due_jobs(kith_app, "proctest.effect", 1000)
    other = kith.Kith(
        kith.Settings(database_url=kith_db_url, plugins_file="/nonexistent"),
        clock=clock,
        extra_plugins=kith_plugins,
    )

    async def drain(app) -> int:
        total = 0
        while ran := await app.jobs.run_due():
            total += ran
        return total

    async with other:
        deadline = time.monotonic() + 60
        while (await job_states(kith_app)).get("done", 0) < 1000:
            assert time.monotonic() < deadline, "1,000 jobs did not finish within 60 s"
            await asyncio.gather(drain(kith_app), drain(other))
    assert await effects(kith_app) == (1000, 1000)
    rows = await kith_app.db.fetch('SELECT DISTINCT "attempts" FROM "jobs"')
    assert [r["attempts"] for r in rows] == [1]


@pytest.mark.kith_backends("postgres")
async def test_two_worker_processes_with_two_schedulers_over_1000_jobs_run_each_once(
    kith_app, processes, broker_queue, request
):
    url = str(request.config.getoption("--kith-amqp-url"))
    check_reachable(url)
    queue, used = broker_queue
    used.append(url)
    env = {"KITH_BROKER_URL": url, "KITH_BROKER_QUEUE": queue, "KITH_JOB_RESEND_S": "30"}
    workers = [processes.spawn("worker", "--threads", "4", **env) for _ in range(2)]
    await insert_due_jobs(kith_app, "proctest.effect", 1000)

    async def all_done() -> bool:
        return (await job_states(kith_app)).get("done", 0) == 1000

    await await_until(all_done, "1,000 jobs ran", 60, processes.logs)
    assert await effects(kith_app) == (1000, 1000)
    rows = await kith_app.db.fetch('SELECT DISTINCT "attempts" FROM "jobs"')
    assert [r["attempts"] for r in rows] == [1]
    for w in workers:
        assert processes.stop(w) == 0


# ---- the broker restarted mid-run --------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own (the shared one is never stopped)."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, f"redis-server answers on port {self.port}", 10)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class TcpProxy:
    """Forwards a local port to the shared RabbitMQ; ``cut()`` drops every connection and
    refuses new ones until ``resume()`` — to the clients, the broker went away."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.down = False
        self.closed = False
        self.socks: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        self.down = True
        with self.lock:
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def resume(self) -> None:
        self.down = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.server.close()


@pytest.mark.kith_backends("postgres")
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
async def test_the_broker_restarted_mid_run_loses_nothing(
    broker, kith_app, make_worker_kith, tmp_path, request, monkeypatch
):
    import dramatiq.worker

    monkeypatch.setattr(dramatiq.worker, "CONSUMER_RESTART_DELAY_SECS", 0.2)
    kith_app.settings.job_resend_s = 1.0
    amqp = str(request.config.getoption("--kith-amqp-url"))
    if broker == "redis":
        server = RedisServer(tmp_path)
        server.start()
        url = server.url
    else:
        check_reachable(amqp)
        proxy = TcpProxy(5672)
        url = amqp.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
        assert url != amqp, "--kith-amqp-url must point at 127.0.0.1:5672 for this test"
    harness = BrokerHarness(kith_app, make_worker_kith, url, threads=4)
    await harness.start()
    try:
        await insert_due_jobs(kith_app, "chaos.effect", 200)
        assert await kith_app.scheduler.tick() == 200  # every id is in the broker

        async def mid_run() -> bool:
            return (await effects(kith_app))[0] >= GATED - 5

        await await_until(mid_run, "the worker is mid-run")
        if broker == "redis":  # a restart without persistence: its queue is gone
            server.kill()
            server.start()
        else:  # connections dropped, and the queued messages lost
            proxy.cut()
            flush_queue(amqp, harness.queue)
            proxy.resume()
        GATE.set()

        async def all_done() -> bool:
            await kith_app.scheduler.tick()  # sends again what nobody claimed in time
            return (await job_states(kith_app)).get("done", 0) == 200

        await await_until(all_done, "all 200 jobs ran after the broker came back", 40)
        assert await effects(kith_app) == (200, 200)
        rows = await kith_app.db.fetch('SELECT DISTINCT "attempts" FROM "jobs"')
        assert [r["attempts"] for r in rows] == [1]
    finally:
        await harness.stop()
        if broker == "redis":
            server.kill()
        else:
            proxy.close()
            flush_queue(amqp, harness.queue)


def test_separate_workers_on_sqlite_are_refused_with_a_clear_message(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from kith.cli import main

    monkeypatch.setenv("KITH_DATABASE_URL", f"sqlite:///{tmp_path}/k.db")
    monkeypatch.setenv("KITH_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("KITH_PLUGINS_FILE", str(tmp_path / "plugins.toml"))
    for args in (["worker"], ["run", "--port", str(free_port())]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "needs PostgreSQL" in result.output
        assert "one process owns the database file's writes" in result.output
