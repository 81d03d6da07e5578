"""The scheduler: housekeeping of the jobs table, recurring jobs, and (at scale) sending due
job ids to the broker.

One process leads at a time:

* **PostgreSQL**: the leader holds a session advisory lock (``pg_try_advisory_lock``) on a
  connection of its own; when the process dies the connection closes and another process
  takes over at its next try. The same connection LISTENs for ``kith_jobs`` notifications
  that commands send when they schedule work due now, so the leader reacts at once.
* **SQLite**: one process owns a database file's jobs: the one holding an exclusive lock on
  ``<database>.jobs-lock`` (released by the kernel when the process dies). At start-up it
  takes back jobs left running by its dead predecessor at once.

Each pass of the leader: leases that expired become scheduled again, the next occurrence of
each recurring job is stored, events left undelivered by a crashed process are relayed, and —
with a broker — due job ids are sent to the ``kith worker`` processes. Sending is at least
once: a sent job whose id nobody claimed within ``KITH_JOB_RESEND_S`` is sent again, and the
worker's conditional claim makes every extra message a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .jobs import NOTIFY_CHANNEL
from .tables import Job

if TYPE_CHECKING:
    from .broker import JobTransport
    from .runtime import Kith

log = logging.getLogger("kith.scheduler")

# pg_advisory_lock key: "kith" + "sch" as one 64-bit number (any constant would do).
LEADER_LOCK_KEY = 0x6B697468_00736368
SEND_BATCH = 500
BUSY_WAIT_S = 0.02


class Scheduler:
    """Leader election, housekeeping, recurring jobs and sending to a broker."""

    def __init__(self, kith: Kith) -> None:
        self.kith = kith
        self.transport: JobTransport | None = None
        self.leading = False
        self._conn: Any = None  # asyncpg connection holding the advisory lock (PostgreSQL)
        self._lock_fd: int | None = None  # lock file descriptor (SQLite)
        self._planned: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        return self.kith.settings

    # ---- leadership ----------------------------------------------------------------------------
    async def lead(self) -> bool:
        """Become (or stay) the leader if no other process is; True when leading."""
        if self.kith.db.dialect == "sqlite":
            return await self._lead_sqlite()
        return await self._lead_postgres()

    async def may_run_jobs(self) -> bool:
        """May this process run due jobs itself (the embedded runner)? On SQLite only the
        process owning the file's jobs; on PostgreSQL every runner (claims decide)."""
        if self.kith.db.dialect == "sqlite":
            return await self._lead_sqlite()
        return True

    async def _lead_sqlite(self) -> bool:
        if self.leading:
            return True
        path = getattr(self.kith.db, "path", ":memory:")
        if path == ":memory:":
            self.leading = True
            return True
        import fcntl

        fd = os.open(f"{path}.jobs-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        self.leading = True
        # One process owns this file's jobs, so jobs still marked running were left by a
        # process that died: they run again now rather than when their lease expires.
        reclaimed = await self._reclaim_running()
        if reclaimed:
            log.warning("%d job(s) left running by a stopped process will run again", reclaimed)
        return True

    async def _reclaim_running(self) -> int:
        db = self.kith.db
        codec = db.statements.codec(Job)
        marks = db.statements.placeholders(2)
        rows = await db.fetch_write(
            f'UPDATE "jobs" SET "status" = \'scheduled\', "worker" = NULL, '  # noqa: S608
            f'"lease_until" = NULL, "updated_at" = {marks[0]} '
            f'WHERE "status" = \'running\' AND "worker" <> {marks[1]} RETURNING "id"',
            [codec.encode("updated_at", self.kith.clock.now()), self.kith.jobs.worker_id],
            durable=False,
        )
        return len(rows)

    async def _lead_postgres(self) -> bool:
        import asyncpg

        conn = self._conn
        if conn is not None and conn.is_closed():
            if self.leading:
                log.warning("lost the scheduler lock's connection: no longer leading")
            conn = self._conn = None
            self.leading = False
        if self.leading:
            return True
        try:
            if conn is None:
                conn = self._conn = await asyncpg.connect(self.kith.db.url)
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("scheduler could not reach PostgreSQL: %s", exc)
            await self._close_conn()
            return False
        if got:
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
            self.leading = True
            log.info("this process leads the scheduler (%s)", self.kith.instance_id)
        return bool(got)

    def _notified(self, *args: object) -> None:
        self._wake.set()

    async def resign(self) -> None:
        """Stop leading (the lock is released; another process may take over)."""
        self.leading = False
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None
        await self._close_conn()

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()

    # ---- loop ------------------------------------------------------------------------------------
    def start(self, transport: JobTransport | None = None) -> None:
        """Lead when possible and send due jobs through ``transport`` until :meth:`stop`."""
        if transport is not None:
            self.transport = transport
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="kith-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.resign()

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_housekeeping = -1e9
        poll = self.settings.job_poll_s
        while True:
            wait = poll
            try:
                if await self.lead():
                    housekeeping = loop.time() - last_housekeeping >= poll
                    if housekeeping:
                        last_housekeeping = loop.time()
                    wait = await self._pass(housekeeping)
            except Exception:
                log.exception("scheduler pass failed")
            if wait <= 0:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass

    async def _pass(self, housekeeping: bool) -> float:
        """One leader pass; returns how long to wait before the next one."""
        if housekeeping:
            await self.housekeeping()
        if self.transport is None:
            return self.settings.job_poll_s
        sent, room = await self.send_due()
        if sent:
            return 0.0
        if room <= 0:
            return BUSY_WAIT_S  # the broker holds as many ids as allowed: look again soon
        return await self._idle_wait()

    async def _idle_wait(self) -> float:
        """Seconds until the next job not yet sent is due, at most one poll interval."""
        poll = self.settings.job_poll_s
        db = self.kith.db
        row = await db.fetchone(
            'SELECT "run_at" FROM "jobs" WHERE "status" = \'scheduled\' '
            'AND "lease_until" IS NULL ORDER BY "run_at" LIMIT 1'
        )
        if row is None:
            return poll
        nxt = db.statements.codec(Job).decode(row)["run_at"]
        wait = (nxt - self.kith.clock.now()).total_seconds()
        return min(poll, max(0.0, wait))

    async def tick(self) -> int:
        """One full pass if this process leads (tests and ``kith jobs``); returns how many
        job ids were sent to the broker."""
        if not await self.lead():
            return 0
        await self.housekeeping()
        if self.transport is None:
            return 0
        sent, _ = await self.send_due()
        return sent

    # ---- housekeeping ----------------------------------------------------------------------------
    async def housekeeping(self) -> None:
        """Expired leases, recurring jobs, undelivered events."""
        from .delivery import relay

        await self.kith.jobs.expire_leases()
        await self.plan_recurring()
        await relay(self.kith)

    async def plan_recurring(self) -> int:
        """Store the next occurrence of every recurring job (keyed ``cron:<name>:<time>``);
        returns how many were added. Idempotent across processes: an occurrence stored, run
        or cancelled by anyone is never added again."""
        specs = self.kith.job_registry.recurring()
        if not specs:
            return 0
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = self.kith.clock.now()
        added = 0
        cols = ["name", "payload", "key", "run_at", "status", "max_attempts"]
        cols += ["created_at", "updated_at"]
        insert = db.statements.insert(Job, cols, returning=False) + " ON CONFLICT DO NOTHING"
        exists = db.statements.select_where(Job, ["key"], limit=True)
        for spec in specs:
            at = spec.next_occurrence(now)
            assert at is not None
            key = f"cron:{spec.name}:{at.isoformat()}"
            if self._planned.get(spec.name) == key:
                continue
            async with db.transaction() as tx:
                if not await tx.fetch(exists, [key, 1]):
                    values = {
                        "name": spec.name,
                        "payload": {"scheduled_for": at.isoformat()},
                        "key": key,
                        "run_at": at,
                        "status": "scheduled",
                        "max_attempts": spec.max_attempts,
                        "created_at": now,
                        "updated_at": now,
                    }
                    await tx.execute(insert, [codec.encode(c, values[c]) for c in cols])
                    added += 1
            self._planned[spec.name] = key
        return added

    # ---- sending to the broker -------------------------------------------------------------------
    async def in_flight(self) -> int:
        """Job ids sent to the broker that no worker has claimed yet (and not given up on)."""
        db = self.kith.db
        codec = db.statements.codec(Job)
        mark = db.statements.placeholders(1)[0]
        row = await db.fetchone(
            f'SELECT COUNT(*) AS n FROM "jobs" WHERE "status" = \'scheduled\' '  # noqa: S608
            f'AND "lease_until" IS NOT NULL AND "lease_until" > {mark}',
            [codec.encode("lease_until", self.kith.clock.now())],
        )
        return int(row["n"]) if row else 0

    async def send_due(self) -> tuple[int, int]:
        """Send the ids of due jobs (not sent yet, or sent too long ago) to the broker.
        Returns (how many were sent, how many more the broker could hold)."""
        assert self.transport is not None
        room = self.settings.job_max_in_flight - await self.in_flight()
        if room <= 0:
            return 0, room
        db = self.kith.db
        codec = db.statements.codec(Job)
        now = self.kith.clock.now()
        now_v = codec.encode("run_at", now)
        marks = db.statements.placeholders(3)
        rows = await db.fetch(
            f'SELECT "id" FROM "jobs" WHERE "status" = \'scheduled\' '  # noqa: S608
            f'AND "run_at" <= {marks[0]} '
            f'AND ("lease_until" IS NULL OR "lease_until" <= {marks[1]}) '
            f'ORDER BY "run_at", "id" LIMIT {marks[2]}',
            [now_v, now_v, min(room, SEND_BATCH)],
        )
        if not rows:
            return 0, room
        ids = [r["id"] for r in rows]
        until = codec.encode("lease_until", now + timedelta(seconds=self.settings.job_resend_s))
        head = db.statements.placeholders(2)
        in_list = ", ".join(db.statements.placeholders(len(ids), start=3))
        marked = await db.fetch_write(
            f'UPDATE "jobs" SET "lease_until" = {head[0]} '  # noqa: S608
            f"WHERE \"status\" = 'scheduled' "
            f'AND ("lease_until" IS NULL OR "lease_until" <= {head[1]}) '
            f'AND "id" IN ({in_list}) RETURNING "id"',
            [until, now_v, *ids],
            durable=False,
        )
        to_send = sorted(r["id"] for r in marked)
        sent = 0
        try:
            sent = await self.transport.send(to_send)
        finally:
            if sent < len(to_send):
                await self._unmark(to_send[sent:])
        self.sent += sent
        return sent, room - sent

    async def _unmark(self, ids: list[int]) -> None:
        """Ids the broker did not take: send them at the next pass."""
        log.warning("the broker refused %d job id(s); they will be sent again", len(ids))
        db = self.kith.db
        in_list = ", ".join(db.statements.placeholders(len(ids)))
        try:
            await db.fetch_write(
                f'UPDATE "jobs" SET "lease_until" = NULL WHERE "id" IN ({in_list}) '  # noqa: S608
                f"AND \"status\" = 'scheduled'",
                ids,
                durable=False,
            )
        except Exception:
            log.exception("could not unmark unsent jobs: they are sent again after the delay")
