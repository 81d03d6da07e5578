"""Point reads for the engine's hot path, on the event loop's own thread (SQLite only).

The engine reads one or two rows per event (the record, perhaps a related one). Through
the database's reader threads each read is a hop to a thread and back, and on a busy
machine the hop — GIL hand-offs, not SQLite — costs a millisecond or more, which made the
hop, not the evaluation, the engine's cost. A primary-key lookup on a WAL database takes
10-30 µs, so the engine runs it inline on a read-only connection of its own; a statement
that outruns ``MAX_STEPS`` SQLite VM instructions (≈ 0.5 ms) is interrupted and goes to the
database's readers instead, as does any read that meets a lock. Reads see committed rows
only, exactly like the readers. PostgreSQL reads go through the pool as usual.

(When the core's SQLite engine offers in-loop point reads itself, the engine should use
those and this module can go.)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.request import pathname2url

Fetch = Callable[[str, list[Any]], Awaitable[list[dict[str, Any]]]]

MAX_STEPS = 20_000


class InlineReader:
    """A read-only SQLite connection used synchronously, with a fallback."""

    def __init__(self, path: str, fallback: Fetch) -> None:
        self.path = path
        self.fallback = fallback
        self._conn: sqlite3.Connection | None = None
        self._steps = 0

    def _connect(self) -> sqlite3.Connection:
        uri = f"file:{pathname2url(os.path.abspath(self.path))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = 1")
        conn.execute("PRAGMA busy_timeout = 0")
        conn.set_progress_handler(self._progress, 1000)
        return conn

    def _progress(self) -> int:
        self._steps += 1000
        return 1 if self._steps > MAX_STEPS else 0

    async def fetch(
        self, sql: str, params: list[Any] | tuple[Any, ...] = ()
    ) -> list[dict[str, Any]]:
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._steps = 0
            cursor = self._conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.OperationalError:  # interrupted (too long) or busy: use a thread
            return await self.fallback(sql, list(params))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def reader_for(kith: Any) -> tuple[Fetch, Callable[[], None]]:
    """The fetch the engine uses for committed reads, and how to close it."""
    db = kith.db
    path = getattr(db, "path", None)
    if db.dialect != "sqlite" or not path or path == ":memory:":
        return db.fetch, lambda: None
    reader = InlineReader(path, db.fetch)
    return reader.fetch, reader.close
