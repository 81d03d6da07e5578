"""What every Kith database offers: one write transaction at a time per command, and reads."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from .statements import Statements

Params = Sequence[Any]


class Transaction(ABC):
    """A write transaction. Statements run in order; deferred ones run just before COMMIT.

    ``defer`` exists for rows nobody reads back during the command (history, outbox): they
    travel to the database together with the COMMIT, in one round trip.
    """

    def __init__(self) -> None:
        self._deferred: list[tuple[str, Params | list[Params], bool]] = []
        self._after_commit: list[Callable[[], Any]] = []

    @abstractmethod
    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run a statement now and return its rows (also for ``... RETURNING *``)."""

    async def fetchone(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.fetch(sql, params)

    def defer(self, sql: str, params: Params = ()) -> None:
        """Queue a statement for commit time."""
        self._deferred.append((sql, params, False))

    def defer_many(self, sql: str, rows: list[Params]) -> None:
        """Queue one statement for many parameter rows, at commit time."""
        if rows:
            self._deferred.append((sql, rows, True))

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Call ``callback`` once the transaction has committed (never on rollback)."""
        self._after_commit.append(callback)


class Database(ABC):
    """A Kith database: ``transaction()`` for writes, ``fetch`` for reads of committed data."""

    dialect: str
    url: str

    def __init__(self) -> None:
        self.statements = Statements(self.dialect)

    @abstractmethod
    async def open(self) -> None:
        """Connect (idempotent)."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect; safe to call twice."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction; SQLite serialises them, PostgreSQL runs them concurrently."""

    @abstractmethod
    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """A read of committed data, outside any transaction."""

    async def fetchone(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetch_write(
        self, sql: str, params: Params = (), *, durable: bool = True
    ) -> list[dict[str, Any]]:
        """One writing statement in a transaction of its own (e.g. ``UPDATE … RETURNING``),
        in as few round trips as the engine allows. ``durable=False`` is for bookkeeping
        that is safe to lose in a database crash (a job claim, a "delivered" mark: the work
        is done again): PostgreSQL then does not wait for the WAL flush."""
        async with self.transaction() as tx:
            return await tx.fetch(sql, params)

    @abstractmethod
    async def execute_script(self, sql: str) -> None:
        """Run DDL or maintenance statements (migrations, test resets)."""
