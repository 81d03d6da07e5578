"""SQLite for an application server: one writer, a few readers, few round trips.

Each connection lives in its own thread (a one-worker executor), so a whole step of a
transaction — ``BEGIN IMMEDIATE`` with its first statement, or every deferred statement with
``COMMIT`` — is one hop between the event loop and SQLite. The writer runs in WAL mode with
``synchronous=NORMAL``; an asyncio lock covers each whole ``BEGIN IMMEDIATE`` transaction
(a deferred transaction that upgrades to a write would get ``SQLITE_BUSY`` whatever the
``busy_timeout``). Readers see only committed rows.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .base import Database, Params, Transaction

BUSY_TIMEOUT_MS = 10_000


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    if cursor.description is None:
        return []
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _Connection:
    """One sqlite3 connection, used only from its own thread."""

    def __init__(self, path: str, *, reader: bool) -> None:
        self.path = path
        self.reader = reader
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="kith-sqlite")
        self.conn: sqlite3.Connection | None = None

    async def call(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.reader:
            conn.execute("PRAGMA query_only = 1")
        else:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        self.conn = conn

    async def open(self) -> None:
        await self.call(self._connect)

    async def close(self) -> None:
        if self.conn is not None:
            await self.call(self.conn.close)
            self.conn = None
        self._executor.shutdown(wait=True)

    # functions below run in the connection's thread
    def fetch(self, sql: str, params: Params) -> list[dict[str, Any]]:
        assert self.conn is not None
        return _rows(self.conn.execute(sql, params))

    def begin_and_fetch(self, begin: bool, sql: str, params: Params) -> list[dict[str, Any]]:
        assert self.conn is not None
        if begin:
            self.conn.execute("BEGIN IMMEDIATE")
        return _rows(self.conn.execute(sql, params))

    def commit(self, begun: bool, deferred: list[tuple[str, Any, bool]]) -> None:
        conn = self.conn
        assert conn is not None
        if not begun and not deferred:
            return
        try:
            if not begun:
                conn.execute("BEGIN IMMEDIATE")
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

    def script(self, sql: str) -> None:
        assert self.conn is not None
        self.conn.executescript(sql)


class SQLiteTransaction(Transaction):
    def __init__(self, writer: _Connection) -> None:
        super().__init__()
        self._writer = writer
        self._begun = False

    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        begin = not self._begun
        self._begun = True
        return await self._writer.call(self._writer.begin_and_fetch, begin, sql, params)

    async def _commit(self) -> None:
        await self._writer.call(self._writer.commit, self._begun, self._deferred)

    async def _rollback(self) -> None:
        if self._begun:
            await self._writer.call(self._writer.rollback)


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str, readers: int = 2) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._reader_count = readers
        self._writer: _Connection | None = None
        self._readers: list[_Connection] = []
        self._next_reader = itertools.cycle(range(readers))
        self._lock = asyncio.Lock()
        super().__init__()

    async def open(self) -> None:
        if self._writer is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        writer = _Connection(self.path, reader=False)
        await writer.open()
        readers = [_Connection(self.path, reader=True) for _ in range(self._reader_count)]
        for r in readers:
            await r.open()
        self._writer, self._readers = writer, readers

    async def close(self) -> None:
        conns = ([self._writer] if self._writer else []) + self._readers
        self._writer, self._readers = None, []
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
                await tx._rollback()
                raise
            await tx._commit()
        for callback in tx._after_commit:
            callback()

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
            await self._writer.call(self._writer.script, sql)
