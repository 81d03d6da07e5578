"""Durable jobs: scheduled in a command's transaction, run later exactly where it matters.

* ``ctx.schedule(name, payload, at=..., key=...)`` writes a row to ``jobs`` in the command's
  transaction; ``ctx.cancel(key)`` cancels the scheduled job with that key. A key makes
  scheduling idempotent: scheduling again with the same key moves the scheduled job.
* The runner claims a due row with a conditional UPDATE (status scheduled → running, with a
  lease), runs the handler inside a transaction, and marks the row done **in that same
  transaction** — so the job's database effects happen once. If the row was cancelled or its
  lease taken over meanwhile, the handler's effects roll back.
* A heartbeat renews the lease of long jobs (PostgreSQL; on SQLite the job holds the only
  writer, so nobody can take its lease while it runs).
* A failure reschedules the job with exponential backoff and jitter; after ``max_attempts``
  the job is ``dead``, its error kept, until someone retries it.
* A process that dies mid-job loses nothing: when the lease expires the job runs again.
* Recurring jobs: ``@kith.job(name, cron="0 2 * * *")``; the scheduler keeps the next
  occurrence stored as a job keyed ``cron:<name>:<time>``, so each occurrence runs once.

``lease_until`` means two things, by status: for a *running* job, the runner's lease; for a
*scheduled* job, "a broker holds a message for it until then" (the scheduler sends the id
again after that; ``NULL`` = not sent). See :mod:`kith.scheduler`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .context import Context, current_context
from .db.base import Database, Params, Transaction
from .errors import KithError
from .permissions import Actor
from .tables import Job

if TYPE_CHECKING:
    from .runtime import Kith

log = logging.getLogger("kith.jobs")

JobHandler = Callable[[Context, dict[str, Any]], Awaitable[Any]]
DEFAULT_LEASE = timedelta(minutes=5)
NOTIFY_CHANNEL = "kith_jobs"
NOTIFY_SQL = f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"
# A job due within this much of now wakes the PostgreSQL scheduler at commit (NOTIFY).
NOTIFY_HORIZON = timedelta(seconds=2)


@dataclass(frozen=True)
class JobSpec:
    """A kind of job: its name, handler and retry policy. Build one with :func:`job`."""

    name: str
    handler: JobHandler
    max_attempts: int = 5
    backoff_base_s: float = 30.0
    backoff_max_s: float = 6 * 3600.0
    lease: timedelta = DEFAULT_LEASE
    description: str = ""
    plugin: str | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def backoff(self, attempts: int) -> timedelta:
        """Delay before retry number ``attempts``: exponential, capped, with ±25 % jitter."""
        base = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=base * random.uniform(0.75, 1.25))

    def next_occurrence(self, after: datetime) -> datetime | None:
        """The first time strictly after ``after`` that the cron expression names (UTC)."""
        if self.cron is None:
            return None
        from croniter import croniter

        local = after.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local).get_next(datetime).astimezone(after.tzinfo)


def job(
    name: str,
    *,
    max_attempts: int = 5,
    backoff_base_s: float = 30.0,
    lease: timedelta = DEFAULT_LEASE,
    cron: str | None = None,
    timezone: str = "UTC",
) -> Callable[[JobHandler], JobSpec]:
    """Declare a job handler ``async def handler(ctx, payload)``.

    The handler runs in a transaction as the actor ``job:<name>`` (role system); it changes
    data through ``ctx.run(...)`` commands or ``ctx.insert/update``; what it writes commits
    together with the job's "done" mark. Raise to retry later.

    ``lease`` is how long a runner may hold the job before another may take it over (a
    heartbeat renews it while the handler runs). ``cron`` makes the job recurring: a
    five-field cron expression (``"0 2 * * *"`` = 02:00 every day) read in ``timezone``;
    each occurrence runs once with ``{"scheduled_for": "<ISO time>"}`` as its payload.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if lease < timedelta(seconds=1):
        raise ValueError("lease must be at least one second")
    if cron is not None:
        from croniter import croniter

        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise ValueError(f"job {name}: {cron!r} is not a five-field cron expression")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"job {name}: unknown time zone {timezone!r}") from None

    def decorate(fn: JobHandler) -> JobSpec:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"job {name}: the handler must be 'async def'")
        return JobSpec(
            name=name,
            handler=fn,
            max_attempts=max_attempts,
            backoff_base_s=backoff_base_s,
            lease=lease,
            description=inspect.getdoc(fn) or "",
            cron=cron,
            timezone=timezone,
        )

    return decorate


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def add(self, spec: JobSpec, plugin: str | None = None) -> None:
        if not isinstance(spec, JobSpec):
            raise TypeError(f"plugin {plugin}: kith_jobs returned {spec!r}, not a job")
        existing = self._jobs.get(spec.name)
        if existing is not None and existing.handler is not spec.handler:
            raise KithError(
                "plugin_conflict",
                f"Job {spec.name} is registered twice (by {existing.plugin} and {plugin}).",
            )
        if plugin and spec.plugin is None:
            spec = JobSpec(**{**spec.__dict__, "plugin": plugin})
        self._jobs[spec.name] = spec

    def get(self, name: str) -> JobSpec | None:
        return self._jobs.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._jobs

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._jobs.values(), key=lambda s: s.name))

    def recurring(self) -> list[JobSpec]:
        return [s for s in self if s.cron]


def _notify_scheduler(ctx: Context, when: datetime) -> None:
    """On PostgreSQL, wake the scheduler leader (another process) when the commit lands."""
    if ctx.kith.db.dialect != "postgres" or ctx.tx is None:
        return
    root = ctx.root
    if getattr(root, "_kith_jobs_notified", False) or when > ctx.now() + NOTIFY_HORIZON:
        return
    root._kith_jobs_notified = True  # type: ignore[attr-defined]
    ctx.tx.defer(NOTIFY_SQL)


async def schedule(
    ctx: Context,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
    key: str | None = None,
    max_attempts: int | None = None,
) -> int:
    """Schedule job ``name`` in ``ctx``'s transaction; returns the job id."""
    kith = ctx.kith
    spec = kith.job_registry.get(name)
    if spec is None:
        raise KithError("unknown_job", f"No job {name!r} is registered", status=500)
    when = at or ctx.now()
    if when.tzinfo is None:
        raise ValueError("schedule(at=...) needs a timezone-aware time")
    payload = payload or {}
    _notify_scheduler(ctx, when)
    if key is not None:
        existing = await ctx.find_one(Job, key=key, status="scheduled")
        if existing is not None:
            # A message a broker still holds for the old time finds run_at in the future
            # and does nothing; the scheduler sends the id again when it is due.
            await ctx.update(
                Job,
                existing,
                {"run_at": when, "payload": payload, "lease_until": None},
                record_history=False,
            )
            ctx.root.jobs_scheduled.append(when)
            return int(existing["id"])
    row = await ctx.insert(
        Job,
        {
            "name": name,
            "payload": payload,
            "key": key,
            "run_at": when,
            "status": "scheduled",
            "max_attempts": max_attempts or spec.max_attempts,
        },
        record_history=False,
    )
    ctx.root.jobs_scheduled.append(when)
    return int(row["id"])


async def cancel(ctx: Context, key: str) -> int:
    """Cancel the scheduled job with ``key`` (in ``ctx``'s transaction); returns how many.

    One conditional UPDATE: a job a runner claimed a moment ago is left alone (it is running),
    and a runner that comes after this commit finds it cancelled and does nothing."""
    db = ctx.kith.db
    codec = db.statements.codec(Job)
    now = ctx.now()
    marks = db.statements.placeholders(3)
    rows = await ctx.fetch(
        f'UPDATE "jobs" SET "status" = \'cancelled\', "finished_at" = {marks[0]}, '  # noqa: S608
        f'"updated_at" = {marks[1]}, "lease_until" = NULL '
        f'WHERE "key" = {marks[2]} AND "status" = \'scheduled\' RETURNING "id"',
        [codec.encode("finished_at", now), codec.encode("updated_at", now), key],
    )
    return len(rows)


@dataclass
class _Running:
    attempts: int
    lease: timedelta
    lease_until: datetime


class _Lost(Exception):
    """The job was cancelled or taken over while its handler ran."""


class _LazyTransaction(Transaction):
    """A job's transaction, begun at its first statement: a handler that only calls out
    (mail, webhooks) holds no connection, and on SQLite not the writer, while it waits."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db
        self._cm: Any = None
        self._tx: Transaction | None = None

    @property
    def needed(self) -> bool:
        return self._tx is not None or bool(self._deferred)

    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        if self._tx is None:
            self._cm = self._db.transaction()
            self._tx = await self._cm.__aenter__()
        return await self._tx.fetch(sql, params)

    async def commit(self) -> None:
        if self._tx is None:
            return
        self._tx._deferred.extend(self._deferred)
        self._tx._after_commit.extend(self._after_commit)
        cm, self._cm, self._tx = self._cm, None, None
        await cm.__aexit__(None, None, None)

    async def rollback(self, exc: BaseException) -> None:
        if self._cm is not None:
            cm, self._cm, self._tx = self._cm, None, None
            try:
                await cm.__aexit__(type(exc), exc, exc.__traceback__)
            except BaseException as again:
                if again is not exc:
                    raise


class JobRunner:
    """Claims and runs jobs for this process's Kith.

    ``run_due()`` is one embedded pass (tests call it after moving the clock); ``start()``
    keeps that loop going on the event loop (``kith run`` without a broker); ``run_one(id)``
    is what a ``kith worker`` does with a job id that came through the broker."""

    def __init__(self, kith: Kith, *, batch: int = 50, poll_s: float | None = None) -> None:
        self.kith = kith
        self.worker_id = f"{kith.instance_id}"
        self.batch = batch
        self.poll_s = poll_s if poll_s is not None else kith.settings.job_poll_s
        self.executed = 0
        self._running: dict[int, _Running] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # ---- loop --------------------------------------------------------------------------------
    def start(self) -> None:
        """Run due jobs in this process until :meth:`stop` (the embedded runner)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="kith-jobs")
        self.start_heartbeat()

    def start_heartbeat(self) -> None:
        """Renew the leases of this process's running jobs while they run (PostgreSQL)."""
        if self._heartbeat is None and self.kith.db.dialect == "postgres":
            self._heartbeat = asyncio.get_running_loop().create_task(
                self._heartbeat_loop(), name="kith-jobs-heartbeat"
            )

    async def stop(self) -> None:
        for attr in ("_task", "_heartbeat"):
            task = getattr(self, attr)
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                setattr(self, attr, None)

    def wake(self) -> None:
        """A job was scheduled: look for due work now rather than at the next poll."""
        self._wake.set()
        self.kith.scheduler.wake()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_housekeeping = -1e9
        while True:
            try:
                housekeeping = loop.time() - last_housekeeping >= self.poll_s
                if housekeeping:
                    last_housekeeping = loop.time()
                ran = await self.run_due(housekeeping=housekeeping)
            except Exception:
                log.exception("job runner pass failed")
                ran = 0
            if ran:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), await self._idle_wait())
            except TimeoutError:
                pass

    async def _idle_wait(self) -> float:
        """Seconds until the next job is due, at most one poll interval."""
        try:
            nxt = await self.next_due()
        except Exception:
            return self.poll_s
        if nxt is None:
            return self.poll_s
        wait = (nxt - self.kith.clock.now()).total_seconds()
        return min(self.poll_s, max(0.0, wait))

    # ---- one pass ----------------------------------------------------------------------------
    async def run_due(self, *, housekeeping: bool = True) -> int:
        """Run every job due now (by the injected clock). Returns how many ran.

        On SQLite only the process holding the database's job lock runs jobs (see
        :class:`kith.scheduler.Scheduler`); on PostgreSQL any number of processes may, the
        claim decides who runs each job."""
        scheduler = self.kith.scheduler
        if not await scheduler.may_run_jobs():
            return 0
        if housekeeping:
            await scheduler.housekeeping()
        claimed = await self.claim_due(self.batch)
        for row in claimed:  # the heartbeat covers the ones still waiting their turn
            self._running[row["id"]] = _Running(row["attempts"], DEFAULT_LEASE, row["lease_until"])
        try:
            for row in claimed:
                await self.execute(row)
        finally:
            for row in claimed:
                self._running.pop(row["id"], None)
        return len(claimed)

    async def run_one(self, job_id: int) -> str | None:
        """Claim job ``job_id`` and run it; None when it is not due, already taken, done or
        cancelled (a message delivered twice, late or for a cancelled job does nothing)."""
        claimed = await self.claim(job_id)
        if claimed is None:
            return None
        return await self.execute(claimed)

    async def due_ids(self) -> list[int]:
        db = self.kith.db
        codec = db.statements.codec(Job)
        marks = db.statements.placeholders(2)
        rows = await db.fetch(
            f'SELECT "id" FROM "jobs" WHERE "status" = \'scheduled\' AND "run_at" <= {marks[0]} '  # noqa: S608
            f'ORDER BY "run_at", "id" LIMIT {marks[1]}',
            [codec.encode("run_at", self.kith.clock.now()), self.batch],
        )
        return [r["id"] for r in rows]

    async def next_due(self) -> datetime | None:
        """When the earliest scheduled job is due (None when nothing is scheduled)."""
        db = self.kith.db
        row = await db.fetchone(
            'SELECT "run_at" FROM "jobs" WHERE "status" = \'scheduled\' ORDER BY "run_at" LIMIT 1'
        )
        if row is None:
            return None
        return db.statements.codec(Job).decode(row)["run_at"]

    async def expire_leases(self) -> int:
        """Jobs whose runner died (lease expired) become scheduled again."""
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = codec.encode("lease_until", self.kith.clock.now())
        mark = db.statements.placeholders(1)[0]
        # A cheap read first: the write transaction only when a lease really expired.
        expired = await db.fetchone(
            f'SELECT "id" FROM "jobs" WHERE "status" = \'running\' '  # noqa: S608
            f'AND "lease_until" < {mark} LIMIT 1',
            [now],
        )
        if expired is None:
            return 0
        marks = db.statements.placeholders(2)
        rows = await db.fetch_write(
            f'UPDATE "jobs" SET "status" = \'scheduled\', "worker" = NULL, '  # noqa: S608
            f'"lease_until" = NULL, "updated_at" = {marks[0]} '
            f'WHERE "status" = \'running\' AND "lease_until" < {marks[1]} RETURNING "id"',
            [now, now],
            durable=False,
        )
        if rows:
            log.warning("%d job(s) whose runner stopped will run again", len(rows))
        return len(rows)

    _CLAIM = (
        'UPDATE "jobs" SET "status" = \'running\', "attempts" = "attempts" + 1, '
        '"lease_until" = {}, "worker" = {}, "updated_at" = {} '
        'WHERE "status" = \'scheduled\' AND "run_at" <= {} AND '
    )

    _DUE = (
        '"id" IN (SELECT "id" FROM "jobs" WHERE "status" = \'scheduled\' '
        'AND "run_at" <= {} ORDER BY "run_at", "id" LIMIT {}) RETURNING *'
    )

    def _claim_head(self, now: datetime) -> tuple[list[str], list[Any]]:
        db = self.kith.db
        codec = db.statements.codec(Job)
        marks = db.statements.placeholders(4)
        params = [
            codec.encode("lease_until", now + DEFAULT_LEASE),
            self.worker_id,
            codec.encode("updated_at", now),
            codec.encode("run_at", now),
        ]
        return marks, params

    async def claim(self, job_id: int) -> dict[str, Any] | None:
        """Conditional UPDATE scheduled → running with a lease; None if someone else won,
        the job was cancelled, or it is not due (yet) by this runner's clock. One
        statement, committed at once (one round trip on PostgreSQL)."""
        db = self.kith.db
        now = self.kith.clock.now()
        marks, params = self._claim_head(now)
        last = db.statements.placeholders(1, start=5)[0]
        rows = await db.fetch_write(
            self._CLAIM.format(*marks) + f'"id" = {last} RETURNING *',
            [*params, job_id],
            durable=False,
        )
        claimed = await self._claimed(rows, now)
        return claimed[0] if claimed else None

    async def claim_due(self, limit: int) -> list[dict[str, Any]]:
        """Claim up to ``limit`` due jobs in one statement (the embedded runner), oldest
        first. Concurrent runners on PostgreSQL each get different jobs."""
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = self.kith.clock.now()
        marks, params = self._claim_head(now)
        tail = db.statements.placeholders(2, start=5)
        sql = self._CLAIM.format(*marks) + self._DUE.format(*tail)
        rows = await db.fetch_write(
            sql, [*params, codec.encode("run_at", now), limit], durable=False
        )
        claimed = await self._claimed(rows, now)
        claimed.sort(key=lambda r: (r["run_at"], r["id"]))
        return claimed

    async def _claimed(self, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Decode claimed rows and give jobs with their own lease length that lease."""
        db = self.kith.db
        codec = db.statements.codec(Job)
        out = [codec.decode(r) for r in rows]
        for row in out:
            spec = self.kith.job_registry.get(row["name"])
            if spec is not None and spec.lease != DEFAULT_LEASE:
                row["lease_until"] = now + spec.lease
                m = db.statements.placeholders(4)
                await db.fetch_write(
                    f'UPDATE "jobs" SET "lease_until" = {m[0]} WHERE "id" = {m[1]} '  # noqa: S608
                    f'AND "worker" = {m[2]} AND "attempts" = {m[3]}',
                    [
                        codec.encode("lease_until", row["lease_until"]),
                        row["id"],
                        self.worker_id,
                        row["attempts"],
                    ],
                    durable=False,
                )
        return out

    async def execute(self, row: dict[str, Any]) -> str:
        """Run a claimed job; returns its new status (done, scheduled, dead, lost)."""
        kith = self.kith
        spec = kith.job_registry.get(row["name"])
        if spec is None:
            return await self._failed(row, None, f"no handler registered for job {row['name']!r}")
        actor = Actor(user_id=None, role="system", name=f"job {spec.name}", via=f"job:{spec.name}")
        db = kith.db
        codec = db.statements.codec(Job)
        marks = db.statements.placeholders(5)
        self._running[row["id"]] = _Running(row["attempts"], spec.lease, row["lease_until"])
        self.executed += 1
        lazy = _LazyTransaction(db)
        done_sql = (
            f'UPDATE "jobs" SET "status" = \'done\', "finished_at" = {marks[0]}, '  # noqa: S608
            f'"updated_at" = {marks[1]}, "last_error" = NULL, "lease_until" = NULL '
            f'WHERE "id" = {marks[2]} AND "status" = \'running\' AND "worker" = {marks[3]} '
            f'AND "attempts" = {marks[4]} RETURNING "id"'
        )
        try:
            try:
                ctx = Context(kith, actor, spec, lazy)  # type: ignore[arg-type]
                ctx.job = row  # type: ignore[attr-defined]
                token = current_context.set(ctx)
                try:
                    await spec.handler(ctx, dict(row["payload"] or {}))
                finally:
                    current_context.reset(token)
                ctx.flush()
                now = ctx.now()
                params = [
                    codec.encode("finished_at", now),
                    codec.encode("updated_at", now),
                    row["id"],
                    self.worker_id,
                    row["attempts"],
                ]
                if lazy.needed:  # the handler wrote: its effects commit with the done mark
                    if await lazy.fetchone(done_sql, params) is None:
                        raise _Lost
                    await lazy.commit()
                # No database effect: the done mark alone need not wait for a disk flush
                # (lost in a database crash, the job runs again: at least once, as promised).
                elif not await db.fetch_write(done_sql, params, durable=False):
                    raise _Lost
            except BaseException as exc:
                await lazy.rollback(exc)
                raise
        except _Lost:
            log.warning(
                "job %s #%s was cancelled or taken over while running", spec.name, row["id"]
            )
            return "lost"
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log.warning(
                "job %s #%s failed (attempt %s): %s", spec.name, row["id"], row["attempts"], detail
            )
            return await self._failed(row, spec, detail)
        finally:
            self._running.pop(row["id"], None)
        if ctx.events:
            kith.dispatcher.submit(ctx.events)
        if ctx.jobs_scheduled:
            self.wake()
        return "done"

    async def _failed(self, row: dict[str, Any], spec: JobSpec | None, error: str) -> str:
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = self.kith.clock.now()
        dead = spec is None or row["attempts"] >= row["max_attempts"]
        status = "dead" if dead else "scheduled"
        run_at = row["run_at"] if dead else now + spec.backoff(row["attempts"])  # type: ignore[union-attr]
        marks = db.statements.placeholders(8)
        await db.fetch_write(
            f'UPDATE "jobs" SET "status" = {marks[0]}, "run_at" = {marks[1]}, '  # noqa: S608
            f'"last_error" = {marks[2]}, "worker" = NULL, "lease_until" = NULL, '
            f'"updated_at" = {marks[3]}, "finished_at" = {marks[4]} '
            f'WHERE "id" = {marks[5]} AND "status" = \'running\' AND "worker" = {marks[6]} '
            f'AND "attempts" = {marks[7]}',
            [
                status,
                codec.encode("run_at", run_at),
                error[:4000],
                codec.encode("updated_at", now),
                codec.encode("finished_at", now if dead else None),
                row["id"],
                self.worker_id,
                row["attempts"],
            ],
        )
        if dead:
            log.error(
                "job %s #%s is dead after %s attempts", row["name"], row["id"], row["attempts"]
            )
        return status

    # ---- heartbeat ---------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        while True:
            leases = [r.lease for r in self._running.values()]
            interval = min(leases).total_seconds() / 3 if leases else 1.0
            await asyncio.sleep(min(60.0, max(0.2, interval)))
            try:
                await self.renew_leases()
            except Exception:
                log.exception("could not renew job leases")

    async def renew_leases(self) -> int:
        """Extend the lease of each running job of this runner whose lease is a third gone.
        Returns how many were renewed (a job taken over meanwhile is not)."""
        now = self.kith.clock.now()
        todo = [
            (job_id, r)
            for job_id, r in list(self._running.items())
            if now >= r.lease_until - r.lease * 2 / 3
        ]
        if not todo:
            return 0
        db = self.kith.db
        codec = db.statements.codec(Job)
        marks = db.statements.placeholders(4)
        renewed = 0
        for job_id, r in todo:
            until = now + r.lease
            rows = await db.fetch_write(
                f'UPDATE "jobs" SET "lease_until" = {marks[0]} WHERE "id" = {marks[1]} '  # noqa: S608
                f'AND "status" = \'running\' AND "worker" = {marks[2]} '
                f'AND "attempts" = {marks[3]} RETURNING "id"',
                [codec.encode("lease_until", until), job_id, self.worker_id, r.attempts],
                durable=False,
            )
            if rows:
                r.lease_until = until
                renewed += 1
        return renewed
