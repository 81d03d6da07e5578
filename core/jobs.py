"""Durable jobs: scheduled in a command's transaction, run later exactly where it matters.

* ``ctx.schedule(name, payload, at=..., key=...)`` writes a row to ``jobs`` in the command's
  transaction; ``ctx.cancel(key)`` cancels the scheduled job with that key. A key makes
  scheduling idempotent: scheduling again with the same key moves the scheduled job.
* The runner claims a due row with a conditional UPDATE (status scheduled → running, with a
  lease), runs the handler inside a transaction, and marks the row done **in that same
  transaction** — so the job's database effects happen once. If the row was cancelled or its
  lease taken over meanwhile, the handler's effects roll back.
* A failure reschedules the job with exponential backoff and jitter; after ``max_attempts``
  the job is ``dead``, its error kept, until someone retries it.
* A process that dies mid-job loses nothing: when the lease expires the job runs again.
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

from .context import Context
from .errors import KithError
from .permissions import Actor
from .tables import Job

if TYPE_CHECKING:
    from .runtime import Kith

log = logging.getLogger("kith.jobs")

JobHandler = Callable[[Context, dict[str, Any]], Awaitable[Any]]
DEFAULT_LEASE = timedelta(minutes=5)


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

    def backoff(self, attempts: int) -> timedelta:
        """Delay before retry number ``attempts``: exponential, capped, with ±25 % jitter."""
        base = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=base * random.uniform(0.75, 1.25))


def job(
    name: str,
    *,
    max_attempts: int = 5,
    backoff_base_s: float = 30.0,
    lease: timedelta = DEFAULT_LEASE,
) -> Callable[[JobHandler], JobSpec]:
    """Declare a job handler ``async def handler(ctx, payload)``.

    The handler runs in a transaction as the actor ``job:<name>`` (role system); it changes
    data through ``ctx.run(...)`` commands or ``ctx.insert/update``; what it writes commits
    together with the job's "done" mark. Raise to retry later.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

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
    if key is not None:
        existing = await ctx.find_one(Job, key=key, status="scheduled")
        if existing is not None:
            await ctx.update(
                Job, existing, {"run_at": when, "payload": payload}, record_history=False
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
    """Cancel the scheduled job with ``key`` (in ``ctx``'s transaction); returns how many."""
    rows = await ctx.select(Job, key=key, status="scheduled")
    for row in rows:
        await ctx.update(
            Job, row, {"status": "cancelled", "finished_at": ctx.now()}, record_history=False
        )
    return len(rows)


class JobRunner:
    """Runs due jobs of this process's Kith. ``run_due()`` is one pass (tests call it after
    moving the clock); ``start()`` keeps a loop going on the event loop (``kith run``)."""

    def __init__(self, kith: Kith, *, batch: int = 50, poll_s: float = 1.0) -> None:
        self.kith = kith
        self.worker_id = f"{kith.instance_id}"
        self.batch = batch
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- loop --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="kith-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def wake(self) -> None:
        """A job was scheduled: look for due work now rather than at the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                ran = await self.run_due()
            except Exception:
                log.exception("job runner pass failed")
                ran = 0
            if ran:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass

    # ---- one pass ----------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Run every job due now (by the injected clock). Returns how many ran."""
        await self.expire_leases()
        due = await self.due_ids()
        ran = 0
        for job_id in due:
            claimed = await self.claim(job_id)
            if claimed is not None:
                await self.execute(claimed)
                ran += 1
        return ran

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

    async def expire_leases(self) -> int:
        """Jobs whose runner died (lease expired) become scheduled again."""
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = codec.encode("lease_until", self.kith.clock.now())
        marks = db.statements.placeholders(2)
        async with db.transaction() as tx:
            rows = await tx.fetch(
                f'UPDATE "jobs" SET "status" = \'scheduled\', "worker" = NULL, '  # noqa: S608
                f'"updated_at" = {marks[0]} '
                f'WHERE "status" = \'running\' AND "lease_until" < {marks[1]} RETURNING "id"',
                [now, now],
            )
        return len(rows)

    async def claim(self, job_id: int) -> dict[str, Any] | None:
        """Conditional UPDATE scheduled → running with a lease; None if someone else won."""
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = self.kith.clock.now()
        row = await db.fetchone(db.statements.select_where(Job, ["id"]), [job_id])
        if row is None:
            return None
        spec = self.kith.job_registry.get(row["name"])
        lease = spec.lease if spec else DEFAULT_LEASE
        marks = db.statements.placeholders(4)
        async with db.transaction() as tx:
            claimed = await tx.fetchone(
                f'UPDATE "jobs" SET "status" = \'running\', "attempts" = "attempts" + 1, '  # noqa: S608
                f'"lease_until" = {marks[0]}, "worker" = {marks[1]}, "updated_at" = {marks[2]} '
                f'WHERE "id" = {marks[3]} AND "status" = \'scheduled\' RETURNING *',
                [
                    codec.encode("lease_until", now + lease),
                    self.worker_id,
                    codec.encode("updated_at", now),
                    job_id,
                ],
            )
        return codec.decode(claimed) if claimed else None

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

        class _Lost(Exception):
            pass

        try:
            async with db.transaction() as tx:
                ctx = Context(kith, actor, spec, tx)  # type: ignore[arg-type]
                from .context import current_context

                token = current_context.set(ctx)
                try:
                    await spec.handler(ctx, dict(row["payload"] or {}))
                finally:
                    current_context.reset(token)
                now = ctx.now()
                done = await tx.fetchone(
                    f'UPDATE "jobs" SET "status" = \'done\', "finished_at" = {marks[0]}, '  # noqa: S608
                    f'"updated_at" = {marks[1]}, "last_error" = NULL WHERE "id" = {marks[2]} '
                    f'AND "status" = \'running\' AND "worker" = {marks[3]} '
                    f'AND "attempts" = {marks[4]} RETURNING "id"',
                    [
                        codec.encode("finished_at", now),
                        codec.encode("updated_at", now),
                        row["id"],
                        self.worker_id,
                        row["attempts"],
                    ],
                )
                if done is None:
                    raise _Lost
                ctx.flush()
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
        if ctx.events:
            kith.dispatcher.submit(ctx.events)
        return "done"

    async def _failed(self, row: dict[str, Any], spec: JobSpec | None, error: str) -> str:
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = self.kith.clock.now()
        dead = spec is None or row["attempts"] >= row["max_attempts"]
        status = "dead" if dead else "scheduled"
        run_at = row["run_at"] if dead else now + spec.backoff(row["attempts"])  # type: ignore[union-attr]
        marks = db.statements.placeholders(7)
        async with db.transaction() as tx:
            await tx.execute(
                f'UPDATE "jobs" SET "status" = {marks[0]}, "run_at" = {marks[1]}, '  # noqa: S608
                f'"last_error" = {marks[2]}, "worker" = NULL, "updated_at" = {marks[3]}, '
                f'"finished_at" = {marks[4]} WHERE "id" = {marks[5]} AND "worker" = {marks[6]}',
                [
                    status,
                    codec.encode("run_at", run_at),
                    error[:4000],
                    codec.encode("updated_at", now),
                    codec.encode("finished_at", now if dead else None),
                    row["id"],
                    self.worker_id,
                ],
            )
        return status
