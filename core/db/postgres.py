"""PostgreSQL through asyncpg's connection pool."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from .base import Database, Params, Transaction


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset: nothing to undo, so no reset query (one round trip less per transaction).

    Kith's connections keep no session state: code running SQL on them uses ``SET LOCAL``
    and ``pg_advisory_xact_lock``, never ``SET``, session advisory locks, ``LISTEN`` or
    cursors left open. asyncpg still rolls back a transaction left open.
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns travel as text both ways; the table codec does (de)serialisation.
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=lambda v: v, decoder=lambda v: v, schema="pg_catalog"
        )


class PostgresTransaction(Transaction):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__()
        self._conn = conn

    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._conn.fetch(sql, *params)]

    async def _flush(self) -> None:
        for sql, params, many in self._deferred:
            if many:
                await self._conn.executemany(sql, params)
            else:
                await self._conn.execute(sql, *params)


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, url: str, pool_max: int = 10) -> None:
        self.url = url
        self._pool_max = pool_max
        self.pool: asyncpg.Pool | None = None
        self._relaxed: asyncpg.Pool | None = None  # synchronous_commit=off, bookkeeping only
        self._relaxed_lock = asyncio.Lock()
        super().__init__()

    async def open(self) -> None:
        if self.pool is None:
            self.pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self._pool_max,
                init=_init_connection,
                reset=_keep_session,
                server_settings={"plan_cache_mode": "force_custom_plan"},
            )

    async def close(self) -> None:
        if self._relaxed is not None:
            relaxed, self._relaxed = self._relaxed, None
            await relaxed.close()
        if self.pool is not None:
            pool, self.pool = self.pool, None
            await pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        if self.pool is None:
            raise RuntimeError("database is not open")
        async with self.pool.acquire() as conn, conn.transaction():
            tx = PostgresTransaction(conn)
            yield tx
            await tx._flush()
        for callback in tx._after_commit:
            callback()

    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        if self.pool is None:
            raise RuntimeError("database is not open")
        async with self.pool.acquire() as conn:
            return [dict(r) for r in await conn.fetch(sql, *params)]

    async def fetch_write(
        self, sql: str, params: Params = (), *, durable: bool = True
    ) -> list[dict[str, Any]]:
        """One statement in autocommit mode: a single round trip. Not durable: on a small
        pool of its own with ``synchronous_commit=off`` (no wait for the WAL flush)."""
        if self.pool is None:
            raise RuntimeError("database is not open")
        pool = self.pool if durable else await self._relaxed_pool()
        async with pool.acquire() as conn:
            return [dict(r) for r in await conn.fetch(sql, *params)]

    async def _relaxed_pool(self) -> asyncpg.Pool:
        if self._relaxed is None:
            async with self._relaxed_lock:
                if self._relaxed is None:
                    self._relaxed = await asyncpg.create_pool(
                        self.url,
                        min_size=1,
                        max_size=max(1, min(4, self._pool_max)),
                        init=_init_connection,
                        server_settings={"synchronous_commit": "off"},
                    )
        return self._relaxed

    async def execute_script(self, sql: str) -> None:
        if self.pool is None:
            raise RuntimeError("database is not open")
        async with self.pool.acquire() as conn:
            await conn.execute(sql)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
