"""SQLite for an application server: one writer on the event loop, readers in threads.

**Writes.** One writer connection in WAL mode with ``synchronous=NORMAL`` and foreign keys
on; an asyncio lock covers each whole ``BEGIN IMMEDIATE`` transaction (a deferred
transaction that upgrades to a write would get ``SQLITE_BUSY`` whatever the
``busy_timeout``), so no coroutine ever sees another's uncommitted rows. The transaction's
statements, its deferred statements and ``COMMIT`` run directly on the event loop's thread:
once ``BEGIN IMMEDIATE`` holds SQLite's write lock, nothing in a WAL transaction waits for
another connection, and a point statement (10-30 µs) costs less than a hop to a thread and
back (40-100 µs of GIL hand-offs on a busy 2-core machine; see docs/benchmarks.md). What
could stall the loop goes to the writer's own thread instead:

* ``BEGIN IMMEDIATE`` while another process holds the write lock: tried without waiting
  (the writer's ``busy_timeout`` is 0), then waited for in the thread (up to
  ``BUSY_TIMEOUT_MS``); likewise a statement that meets ``SQLITE_BUSY``;
* a ``SELECT`` that outruns ``INLINE_STEPS`` SQLite VM instructions (about 1 ms): it is
  interrupted, which leaves the transaction intact, and run again in the thread;
* WAL checkpoints, the only step that calls fsync: the writer's automatic checkpoints are
  off, and a separate connection checkpoints (``PASSIVE``, never blocking the writer) in its
  own thread every ``CHECKPOINT_CHANGES`` rows written.

**Reads** outside a transaction go to reader connections (``query_only``), each with its own
thread; they see committed rows only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .base import Database, Params, Transaction

log = logging.getLogger("kith.db")

BUSY_TIMEOUT_MS = 10_000
# SQLite VM instructions a SELECT may run on the event loop before it moves to the thread
# (a point lookup takes a few hundred; 50,000 is roughly 1 ms).
INLINE_STEPS = 50_000
# Rows written between two background WAL checkpoints (SQLite's own default is 1000 pages).
CHECKPOINT_CHANGES = 2_000

WRITER, READER, CHECKPOINTER = "writer", "reader", "checkpointer"


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    if cursor.description is None:
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _is_select(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


def _resolve(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if not fut.cancelled():
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)


class _Connection:
    """One sqlite3 connection and its thread (a queue of jobs, answered on the loop)."""

    def __init__(self, path: str, role: str) -> None:
        self.path = path
        self.role = role
        self.conn: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._inline = False

    # ---- the thread ------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, fut, fn, args = job
            try:
                result = (True, fn(*args))
            except BaseException as exc:
                result = (False, exc)
            try:
                loop.call_soon_threadsafe(_resolve, fut, *result)
            except RuntimeError:  # the loop is closed: nobody waits for the answer
                pass

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` in the connection's thread; the future answers on the loop."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name=f"kith-sqlite-{self.role}", daemon=True
            )
            self._thread.start()
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._jobs.put((loop, fut, fn, args))
        return fut

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.submit(fn, *args)

    async def call_to_end(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Like :meth:`call`, but a cancelled caller still waits until the job has finished,
        so that nobody uses the connection while its thread does."""
        fut = self.submit(fn, *args)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            while not fut.done():
                try:
                    await asyncio.shield(fut)
                except asyncio.CancelledError:
                    continue
                except BaseException:
                    break
            raise

    # ---- lifecycle -------------------------------------------------------------------------
    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if self.role == WRITER:
            # Nothing waits on the loop: a busy BEGIN IMMEDIATE waits in the thread.
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer does it
            conn.set_progress_handler(self._over_budget, INLINE_STEPS)
        else:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.role == READER:
                conn.execute("PRAGMA query_only = 1")
        self.conn = conn

    def _over_budget(self) -> bool:
        """Progress handler: interrupt a SELECT running on the loop past its budget."""
        return self._inline

    async def open(self) -> None:
        await self.call(self._connect)

    async def close(self) -> None:
        if self.conn is not None:
            await self.call(self.conn.close)
            self.conn = None
        if self._thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    # ---- the writer, on the event loop (under the database lock) ---------------------------
    def try_begin(self) -> bool:
        """``BEGIN IMMEDIATE`` without waiting; False when another process holds the lock."""
        assert self.conn is not None
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                return False
            raise
        return True

    def fetch_inline(self, sql: str, params: Params) -> list[dict[str, Any]] | None:
        """Run a statement on the loop; ``None`` when it must run in the thread instead (a
        SELECT over its budget, or a statement that met a lock)."""
        assert self.conn is not None
        select = _is_select(sql)
        self._inline = select
        try:
            return _rows(self.conn.execute(sql, params))
        except sqlite3.OperationalError as exc:
            if _is_busy(exc) or (select and exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT):
                return None
            raise
        finally:
            self._inline = False

    def commit(self, deferred: list[tuple[str, Any, bool]]) -> None:
        """The deferred statements, then ``COMMIT``; on any error, ``ROLLBACK``."""
        conn = self.conn
        assert conn is not None
        try:
            for sql, params, many in deferred:
                if many:
                    conn.executemany(sql, params)
                else:
                    conn.execute(sql, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def write_one(self, sql: str, params: Params) -> list[dict[str, Any]]:
        """BEGIN IMMEDIATE, one statement, COMMIT: one hop from the event loop."""
        conn = self.conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = _rows(conn.execute(sql, params))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return rows

    def rollback(self) -> None:
        assert self.conn is not None
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # ---- functions below run in the connection's thread -------------------------------------
    def fetch(self, sql: str, params: Params) -> list[dict[str, Any]]:
        assert self.conn is not None
        return _rows(self.conn.execute(sql, params))

    def _waiting(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` with the writer's ``busy_timeout`` raised to ``BUSY_TIMEOUT_MS``."""
        assert self.conn is not None
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            return fn(*args)
        finally:
            self.conn.execute("PRAGMA busy_timeout = 0")

    def begin_waiting(self) -> None:
        assert self.conn is not None
        self._waiting(self.conn.execute, "BEGIN IMMEDIATE")

    def fetch_waiting(self, sql: str, params: Params) -> list[dict[str, Any]]:
        return self._waiting(self.fetch, sql, params)

    def checkpoint(self) -> None:
        assert self.conn is not None
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def script(self, sql: str) -> None:
        assert self.conn is not None
        self.conn.executescript(sql)


class SQLiteTransaction(Transaction):
    def __init__(self, writer: _Connection) -> None:
        super().__init__()
        self._writer = writer
        self._begun = False

    async def _begin(self) -> None:
        if not self._writer.try_begin():
            await self._writer.call_to_end(self._writer.begin_waiting)
        self._begun = True

    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        if not self._begun:
            await self._begin()
        rows = self._writer.fetch_inline(sql, params)
        if rows is None:
            rows = await self._writer.call_to_end(self._writer.fetch_waiting, sql, params)
        return rows

    async def _commit(self) -> bool:
        """Commit; False when the transaction wrote nothing (it never began)."""
        if not self._begun and not self._deferred:
            return False
        if not self._begun:
            await self._begin()
        self._writer.commit(self._deferred)
        return True

    def _rollback(self) -> None:
        # Also when _begin was cancelled after BEGIN succeeded in the thread.
        self._writer.rollback()


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str, readers: int = 2) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._reader_count = readers
        self._writer: _Connection | None = None
        self._readers: list[_Connection] = []
        self._checkpointer: _Connection | None = None
        self._checkpoint: asyncio.Future[Any] | None = None
        self._checkpointed_at = 0
        self._next_reader = itertools.cycle(range(readers))
        self._lock = asyncio.Lock()
        super().__init__()

    async def open(self) -> None:
        if self._writer is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        writer = _Connection(self.path, WRITER)
        await writer.open()
        readers = [_Connection(self.path, READER) for _ in range(self._reader_count)]
        for r in readers:
            await r.open()
        if self.path != ":memory:":
            self._checkpointer = _Connection(self.path, CHECKPOINTER)
            await self._checkpointer.open()
        self._writer, self._readers = writer, readers

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        conns = ([self._writer] if self._writer else []) + self._readers
        if self._checkpointer is not None:
            conns.append(self._checkpointer)
        self._writer, self._readers, self._checkpointer = None, [], None
        for c in conns:
            await c.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._lock:
            tx = SQLiteTransaction(self._writer)
            try:
                yield tx
            except BaseException:
                tx._rollback()
                raise
            if await tx._commit():
                self._maybe_checkpoint()
        for callback in tx._after_commit:
            callback()

    def _maybe_checkpoint(self) -> None:
        """Start a background checkpoint every ``CHECKPOINT_CHANGES`` rows written."""
        cp = self._checkpointer
        if cp is None or self._checkpoint is not None or self._writer is None:
            return
        assert self._writer.conn is not None
        written = self._writer.conn.total_changes
        if written - self._checkpointed_at < CHECKPOINT_CHANGES:
            return
        self._checkpointed_at = written
        self._checkpoint = cp.submit(cp.checkpoint)
        self._checkpoint.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, fut: asyncio.Future[Any]) -> None:
        self._checkpoint = None
        if not fut.cancelled() and fut.exception() is not None:
            log.warning("WAL checkpoint failed (retried later): %s", fut.exception())

    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        reader = self._readers[next(self._next_reader)]
        return await reader.call(reader.fetch, sql, params)

    async def fetch_write(
        self, sql: str, params: Params = (), *, durable: bool = True
    ) -> list[dict[str, Any]]:
        # WAL with synchronous=NORMAL: no commit waits for a disk flush anyway.
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._lock:
            return await self._writer.call(self._writer.write_one, sql, params)

    async def execute_script(self, sql: str) -> None:
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._lock:
            await self._writer.call_to_end(self._writer.script, sql)
