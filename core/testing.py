"""``kith.testing``: a pytest plugin for Kith's own tests and for plugin authors.

Installed with Kith (entry point ``pytest11``), so its fixtures are available in any test
suite of a package that depends on Kith. Fixtures:

* ``kith_db_url`` — a fresh, migrated database for the test. Tests run once per backend
  chosen with ``--kith-db=sqlite,postgres`` (or ``KITH_TEST_DATABASES``); default ``sqlite``.
* ``clock`` — a :class:`kith.FrozenClock`; move it with ``clock.advance(hours=2)``.
* ``kith_plugins`` — override it to return ``[("name", module_or_object), ...]``: extra
  plugins registered for the test (your plugin, or a test double).
* ``kith_app`` — a started :class:`kith.Kith` on that database, clock and plugins.
* ``events`` — every event delivered during the test, in order (a list of ``kith.Event``).
* ``make_actor`` — ``await make_actor("agent", email=None, name=None)`` creates a user with
  that role and returns the :class:`kith.Actor` to run commands as.
* ``admin`` — an admin actor.
* ``run_command`` — ``await run_command("contact.create", {...}, actor=admin)``: runs the
  command, waits until its events were delivered, returns the result.
* ``run_jobs`` — ``await run_jobs()``: runs every job due by ``clock`` (move it first).
* ``kith_runner`` — ask for it to run a test once per job runner: ``embedded`` (SQLite and
  PostgreSQL) and ``redis`` / ``rabbitmq`` (PostgreSQL, with a real dramatiq worker; choose
  with ``--kith-brokers``). ``run_jobs`` then goes through that runner; ``job_harness`` is
  the :class:`kith.testing_jobs.BrokerHarness` (None when embedded).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from .clock import FrozenClock
from .events import Event
from .hookspecs import hookimpl
from .permissions import SYSTEM, Actor
from .runtime import Kith
from .settings import PluginsFile, Settings

BACKENDS = ("sqlite", "postgres")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kith")
    group.addoption(
        "--kith-db",
        default=os.environ.get("KITH_TEST_DATABASES", "sqlite"),
        help="Comma-separated backends to run database tests on: sqlite, postgres",
    )
    group.addoption(
        "--kith-brokers",
        default=os.environ.get("KITH_TEST_BROKERS", "redis,rabbitmq"),
        help="Comma-separated brokers to run job tests on with PostgreSQL: redis, rabbitmq "
        "(empty: embedded runner only)",
    )
    group.addoption(
        "--kith-redis-url",
        default=os.environ.get("KITH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    group.addoption(
        "--kith-amqp-url",
        default=os.environ.get("KITH_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    )
    group.addoption(
        "--kith-pg-url",
        default=os.environ.get("KITH_TEST_PG_URL", PG_ADMIN_URL),
        help="A PostgreSQL URL whose user may create databases",
    )


def _backends(config: pytest.Config) -> list[str]:
    chosen = [b.strip() for b in str(config.getoption("--kith-db")).split(",") if b.strip()]
    for b in chosen:
        if b not in BACKENDS:
            raise pytest.UsageError(f"--kith-db: unknown backend {b!r} (choose from {BACKENDS})")
    return chosen


def _brokers(config: pytest.Config) -> list[str]:
    chosen = [b.strip() for b in str(config.getoption("--kith-brokers")).split(",") if b.strip()]
    for b in chosen:
        if b not in ("redis", "rabbitmq"):
            raise pytest.UsageError(f"--kith-brokers: unknown broker {b!r} (redis, rabbitmq)")
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kith_runner" in metafunc.fixturenames:
        backends = _backends(metafunc.config)
        marker = metafunc.definition.get_closest_marker("kith_backends")
        if marker is not None:
            backends = [b for b in backends if b in marker.args]
        pairs = [(b, "embedded") for b in backends]
        if "postgres" in backends:
            pairs += [("postgres", broker) for broker in _brokers(metafunc.config)]
        runners = metafunc.definition.get_closest_marker("kith_runners")
        if runners is not None:
            pairs = [p for p in pairs if p[1] in runners.args]
        metafunc.parametrize(
            ("kith_backend", "kith_runner"),
            pairs,
            ids=[f"{b}-{r}" for b, r in pairs],
            scope="session",
        )
        return
    if "kith_backend" in metafunc.fixturenames:
        backends = _backends(metafunc.config)
        marker = metafunc.definition.get_closest_marker("kith_backends")
        if marker is not None:
            backends = [b for b in backends if b in marker.args]
        metafunc.parametrize("kith_backend", backends, scope="session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kith_backends(*names): run this test only on these database backends"
    )
    config.addinivalue_line(
        "markers", "kith_runners(*names): run this test only on these job runners"
    )


class _Templates:
    """Migrated databases made once per session; each test gets a fresh copy."""

    def __init__(self, tmp: Path, pg_admin_url: str, plugin_apps: list[str]) -> None:
        self.tmp = tmp
        self.pg_admin_url = pg_admin_url
        self.plugin_apps = plugin_apps
        self._sqlite: Path | None = None
        self._pg_db: str | None = None
        self._pg_tables: list[str] = []

    def sqlite(self) -> Path:
        if self._sqlite is None:
            from .migrate import migrate

            path = self.tmp / "template.db"
            migrate(f"sqlite:///{path}", self.plugin_apps)
            self._sqlite = path
        return self._sqlite

    async def postgres(self) -> str:
        import asyncpg

        if self._pg_db is None:
            from .migrate import migrate

            name = f"kith_test_{uuid.uuid4().hex[:10]}"
            conn = await asyncpg.connect(self.pg_admin_url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            self._pg_db = name
            migrate(self._pg_url(), self.plugin_apps)
            conn = await asyncpg.connect(self._pg_url())
            try:
                rows = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'migration'"
                )
            finally:
                await conn.close()
            self._pg_tables = [r["tablename"] for r in rows]
        return self._pg_url()

    def _pg_url(self) -> str:
        base = self.pg_admin_url.rsplit("/", 1)[0]
        return f"{base}/{self._pg_db}"

    async def reset_postgres(self, url: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            tables = ", ".join(f'"{t}"' for t in self._pg_tables)
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    def drop(self) -> None:
        if self._pg_db is None:
            return
        import asyncio

        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(self.pg_admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_db}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())


@pytest.fixture(scope="session")
def kith_plugin_apps() -> list[str]:
    """Piccolo apps migrated into test databases besides the core's (override to add yours)."""
    return Kith(Settings(database_url="sqlite:///:memory:", load_entry_points=False)).hooks.tables()


@pytest.fixture(scope="session")
def _kith_templates(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    kith_plugin_apps: list[str],
) -> Any:
    templates = _Templates(
        tmp_path_factory.mktemp("kith-db"),
        str(request.config.getoption("--kith-pg-url")),
        kith_plugin_apps,
    )
    yield templates
    templates.drop()


@pytest.fixture
async def kith_db_url(
    kith_backend: str, _kith_templates: _Templates, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated, empty database for this test."""
    if kith_backend == "sqlite":
        path = tmp_path / "kith.db"
        shutil.copyfile(_kith_templates.sqlite(), path)
        yield f"sqlite:///{path}"
    else:
        url = await _kith_templates.postgres()
        await _kith_templates.reset_postgres(url)
        yield url


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at Monday 2026-01-05 09:00 UTC; tests move it forward."""
    return FrozenClock()


@pytest.fixture
def kith_plugins() -> list[tuple[str, object]]:
    """Extra plugins for the test app: override to return ``[(name, plugin), ...]``."""
    return []


@pytest.fixture
def kith_plugins_file() -> PluginsFile:
    """The ``plugins.toml`` the test app sees (override to enable/disable or set settings)."""
    return PluginsFile()


class _EventRecorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def kith_on_event(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def _event_recorder() -> _EventRecorder:
    return _EventRecorder()


@pytest.fixture
async def kith_app(
    kith_db_url: str,
    clock: FrozenClock,
    kith_plugins: list[tuple[str, object]],
    kith_plugins_file: PluginsFile,
    _event_recorder: _EventRecorder,
    tmp_path: Path,
) -> AsyncIterator[Kith]:
    """A started Kith on a fresh database; its backup and import folders are inside the
    test's temporary folder (never the working directory)."""
    settings = Settings(
        database_url=kith_db_url,
        plugins_file="/nonexistent/plugins.toml",
        secret_key="kith-test-secret-key",  # noqa: S106 - signed links in tests
        # installed plugins stay out of tests: a plugin's tests list it in kith_plugins
        load_entry_points=False,
        backup_dir=str(tmp_path / "backups"),
        import_dir=str(tmp_path / "imports"),
    )
    app = Kith(
        settings,
        clock=clock,
        plugins_file=kith_plugins_file,
        extra_plugins=[*kith_plugins, ("test-event-recorder", _event_recorder)],
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
def events(kith_app: Kith, _event_recorder: _EventRecorder) -> list[Event]:
    """Events delivered to plugins during the test (call ``await kith_app.drain()`` first,
    or use ``run_command``, which drains)."""
    return _event_recorder.events


MakeActor = Callable[..., Awaitable[Actor]]


@pytest.fixture
def make_actor(kith_app: Kith) -> MakeActor:
    """``await make_actor("agent")``: a new user with that role, as an Actor."""
    counter = {"n": 0}

    async def make(
        role: str = "agent", email: str | None = None, name: str | None = None, **fields: Any
    ) -> Actor:
        counter["n"] += 1
        email = email or f"{role}{counter['n']}@staff.example.com"
        name = name or f"{role.title()} {counter['n']}"
        user = await kith_app.run(
            "user.create", {"email": email, "name": name, "role": role, **fields}, SYSTEM
        )
        await kith_app.drain()
        return Actor(user_id=user.id, role=user.role, name=user.name, email=user.email, via="test")

    return make


@pytest.fixture
async def admin(make_actor: MakeActor) -> Actor:
    """An admin user, as an Actor."""
    return await make_actor("admin", email="admin@staff.example.com", name="Ada Admin")


RunCommand = Callable[..., Awaitable[Any]]


@pytest.fixture
def run_command(kith_app: Kith, admin: Actor) -> RunCommand:
    """``await run_command(name, payload, actor=admin)``: run, deliver events, return."""

    async def run(
        name: str, payload: dict[str, Any] | None = None, actor: Actor | None = None
    ) -> Any:
        try:
            return await kith_app.run(name, payload or {}, actor or admin)
        finally:
            await kith_app.drain()

    return run


@pytest.fixture
def broker_url(kith_runner: str, request: pytest.FixtureRequest) -> str | None:
    """The URL of the broker this test runs jobs through (None when embedded)."""
    if kith_runner == "redis":
        return str(request.config.getoption("--kith-redis-url"))
    if kith_runner == "rabbitmq":
        return str(request.config.getoption("--kith-amqp-url"))
    return None


@pytest.fixture
def make_worker_kith(
    kith_db_url: str,
    clock: FrozenClock,
    kith_plugins: list[tuple[str, object]],
    kith_plugins_file: PluginsFile,
    _event_recorder: _EventRecorder,
) -> Callable[[str, str], Kith]:
    """``make_worker_kith(broker_url, queue)``: a Kith like ``kith_app`` (same database,
    clock and plugins) configured to work for that broker queue."""

    def make(broker_url: str, queue: str) -> Kith:
        settings = Settings(
            database_url=kith_db_url,
            plugins_file="/nonexistent/plugins.toml",
            broker_url=broker_url,
            broker_queue=queue,
        )
        return Kith(
            settings,
            clock=clock,
            plugins_file=kith_plugins_file,
            extra_plugins=[*kith_plugins, ("test-event-recorder", _event_recorder)],
        )

    return make


@pytest.fixture
async def job_harness(
    kith_app: Kith,
    broker_url: str | None,
    make_worker_kith: Callable[[str, str], Kith],
) -> AsyncIterator[Any]:
    """With a broker runner: the started :class:`kith.testing_jobs.BrokerHarness`."""
    if broker_url is None:
        yield None
        return
    from .testing_jobs import BrokerHarness, ServiceUnreachable

    harness = BrokerHarness(kith_app, make_worker_kith, broker_url)
    try:
        await harness.start()
    except ServiceUnreachable as exc:
        await harness.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
def run_jobs(kith_app: Kith, request: pytest.FixtureRequest) -> Callable[[], Awaitable[int]]:
    """``await run_jobs()``: run every job due by the test clock (repeat until none is due),
    deliver their events, and return how many ran. Move ``clock`` forward first. In a test
    that uses ``kith_runner``, the jobs go through that runner (a real broker and worker)."""
    harness = None
    if "kith_runner" in request.fixturenames:
        harness = request.getfixturevalue("job_harness")
    if harness is not None:
        return harness.run_due

    async def run() -> int:
        total = 0
        while True:
            ran = await kith_app.jobs.run_due()
            await kith_app.drain()
            total += ran
            if not ran:
                return total

    return run


async def count_rows(kith: Kith, table: str) -> int:
    """How many rows ``table`` holds (for asserting that nothing was written)."""
    from .db.statements import quote

    row = await kith.db.fetchone(f"SELECT COUNT(*) AS n FROM {quote(table)}")  # noqa: S608
    return int(row["n"]) if row else 0


@pytest.fixture(autouse=True)
def _kith_email_maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mail the email channel writes without a relay goes to the test's own folder."""
    monkeypatch.setenv("KITH_EMAIL_MAILDIR", str(tmp_path / "maildir"))
