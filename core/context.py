"""The context a command handler works in: its actor, its transaction, its clock.

Handlers read and write through the context so that every change records its history row
and every event lands in the outbox of the same transaction::

    contact = await ctx.get(Contact, data.contact, field="contact")
    contact = await ctx.update(Contact, contact, {"name": data.name})   # + history row
    ctx.emit("contact.updated", "contact", contact["id"], changes=...)  # → outbox
"""

from __future__ import annotations

import contextvars
from datetime import datetime
from typing import TYPE_CHECKING, Any

from piccolo.table import Table
from pydantic import BaseModel

from . import history
from .db.base import Transaction
from .errors import KithError, not_found
from .events import Event
from .permissions import Actor
from .tables import History, OutboxEvent

if TYPE_CHECKING:
    from .commands import CommandSpec
    from .runtime import Kith

current_context: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "kith_current_context", default=None
)

_ENTITY_NAMES: dict[type[Table], str] = {}
MAX_ID = 2**31 - 1  # ids are 32-bit serials on PostgreSQL


def register_entity(table: type[Table], name: str) -> None:
    """Name the entity a table holds (``contacts`` → ``contact``) for history and events."""
    _ENTITY_NAMES[table] = name


def entity_name(table: type[Table]) -> str:
    return _ENTITY_NAMES.get(table) or table._meta.tablename.removesuffix("s")


class Context:
    """What a command handler gets as ``ctx``."""

    def __init__(
        self,
        kith: Kith,
        actor: Actor,
        spec: CommandSpec,
        tx: Transaction | None,
        parent: Context | None = None,
    ) -> None:
        self.kith = kith
        self.actor = actor
        self.spec = spec
        self.command = spec.name
        self.tx = tx
        self.parent = parent
        # The root of a nested command's context (None on the root itself: no self-reference,
        # so a finished command is freed by reference counting, not by the cyclic GC).
        self._root: Context | None = parent.root if parent else None
        if parent is None:
            self.events: list[Event] = []
            self._history_rows: list[list[Any]] = []
            self.jobs_scheduled: list[datetime] = []
        self._now: datetime | None = None

    @property
    def root(self) -> Context:
        """The context of the outermost command (which owns the history rows and events)."""
        return self._root or self

    # ---- time, settings --------------------------------------------------------------------
    @property
    def clock(self):  # type: ignore[no-untyped-def]
        return self.kith.clock

    def now(self) -> datetime:
        """The command's time: read once, so every row it writes agrees."""
        if self.root._now is None:
            self.root._now = self.kith.clock.now()
        return self.root._now

    def plugin_settings(self, plugin: str) -> Any:
        return self.kith.plugin_settings(plugin)

    @property
    def read_only(self) -> bool:
        return self.tx is None

    # ---- reads -------------------------------------------------------------------------------
    async def fetch(
        self, sql: str, params: list[Any] | tuple[Any, ...] = ()
    ) -> list[dict[str, Any]]:
        """Raw parameterised read; inside a write command it sees the command's own writes."""
        if self.tx is not None:
            return await self.tx.fetch(sql, params)
        return await self.kith.db.fetch(sql, params)

    def _codec(self, table: type[Table]):  # type: ignore[no-untyped-def]
        return self.kith.db.statements.codec(table)

    async def select(
        self,
        table: type[Table],
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        **equals: Any,
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` whose columns equal the given values."""
        st = self.kith.db.statements
        codec = self._codec(table)
        sql = st.select_where(table, list(equals), order_by, descending, limit is not None)
        params = [codec.encode(k, v) for k, v in equals.items()]
        if limit is not None:
            params.append(limit)
        return [codec.decode(r) for r in await self.fetch(sql, params)]

    async def find_one(self, table: type[Table], **equals: Any) -> dict[str, Any] | None:
        rows = await self.select(table, limit=1, **equals)
        return rows[0] if rows else None

    async def get(
        self,
        table: type[Table],
        record_id: int,
        *,
        field: str | None = None,
        for_update: bool = False,
    ) -> dict[str, Any]:
        """The row with ``record_id``; ``not_found`` names ``field``, also when the actor may
        not see it (record visibility). With ``for_update``, an archived record is refused
        (restore it first)."""
        from .visibility import can_see

        if not 0 < record_id <= MAX_ID:  # no such row; the database would refuse the number
            raise not_found(entity_name(table), record_id, field)
        row = await self.find_one(table, id=record_id)
        entity = entity_name(table)
        # A record the actor may not see does not exist for them (core/visibility.py).
        if row is None or not await can_see(self, entity, row):
            raise not_found(entity, record_id, field)
        if for_update and row.get("archived_at") is not None:
            raise KithError(
                "archived",
                f"{entity.capitalize()} {record_id} is archived; restore it before changing it.",
                status=409,
            )
        return row

    # ---- writes -------------------------------------------------------------------------------
    def _require_tx(self) -> Transaction:
        if self.tx is None:
            raise RuntimeError(f"{self.command} is read-only and cannot write")
        return self.tx

    async def insert(
        self,
        table: type[Table],
        values: dict[str, Any],
        *,
        record_history: bool = True,
    ) -> dict[str, Any]:
        """Insert a row (timestamps and ``created_by`` filled in) and record its history."""
        tx = self._require_tx()
        codec = self._codec(table)
        values = dict(values)
        now = self.now()
        for col, val in (
            ("created_at", now),
            ("updated_at", now),
            ("created_by", self.actor.user_id),
        ):
            if col in codec.column_set:
                values.setdefault(col, val)
        cols = tuple(values)
        sql = self.kith.db.statements.insert(table, cols)
        row = await tx.fetchone(sql, codec.encode_values(cols, tuple(values.values())))
        assert row is not None
        row = codec.decode(row)
        if record_history:
            self.record_history(entity_name(table), row["id"], "created", history.created(values))
        return row

    async def update(
        self,
        table: type[Table],
        row: dict[str, Any],
        changes: dict[str, Any],
        *,
        record_history: bool = True,
        action: str = "updated",
    ) -> tuple[dict[str, Any], history.Changes]:
        """Apply ``changes`` to ``row``. Returns the new row and ``{field: [before, after]}``
        for the fields that really changed (nothing is written when none did)."""
        tx = self._require_tx()
        diff = history.diff(row, changes)
        if not diff:
            return row, {}
        codec = self._codec(table)
        values = {k: changes[k] for k in diff}
        if "updated_at" in codec.column_set:
            values["updated_at"] = self.now()
        cols = tuple(values)
        sql = self.kith.db.statements.update_by_id(table, cols)
        params = codec.encode_values(cols, tuple(values.values()))
        params.append(row["id"])
        await tx.execute(sql, params)
        if record_history:
            self.record_history(entity_name(table), row["id"], action, diff)
        return {**row, **values}, diff

    async def delete(self, table: type[Table], record_id: int) -> None:
        """Delete a link row (team membership, an email address). Records are archived, never
        deleted: the caller records what the removal means in the owner's history."""
        tx = self._require_tx()
        await tx.execute(self.kith.db.statements.delete_by_id(table), [record_id])

    def record_history(
        self, entity: str, entity_id: int, action: str, changes: dict[str, Any]
    ) -> None:
        """Add a history row (written with the command's commit)."""
        self.root._history_rows.append(
            [
                self.now(),
                self.actor.label,
                self.actor.user_id,
                self.command,
                entity,
                entity_id,
                action,
                changes,
            ]
        )

    def emit(
        self, name: str, entity: str | None = None, entity_id: int | None = None, **data: Any
    ) -> Event:
        """Record an event; it is written to the outbox and delivered after commit."""
        self._require_tx()
        event = Event(
            name=name,
            entity=entity,
            entity_id=entity_id,
            actor=self.actor.label,
            at=self.now(),
            data={k: history.jsonable(v) for k, v in data.items()},
        )
        self.root.events.append(event)
        return event

    async def schedule(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        at: datetime | None = None,
        key: str | None = None,
        max_attempts: int | None = None,
    ) -> int:
        """Schedule job ``name`` to run at ``at`` (default: now, after commit), in this
        command's transaction. With ``key``, scheduling again moves the scheduled job."""
        from .jobs import schedule

        return await schedule(self, name, payload, at=at, key=key, max_attempts=max_attempts)

    async def cancel(self, key: str) -> int:
        """Cancel the scheduled job with ``key`` (if the command commits)."""
        from .jobs import cancel

        return await cancel(self, key)

    async def run(self, name: str, payload: dict[str, Any] | BaseModel) -> Any:
        """Run another command inside this one's transaction, as the same actor."""
        return await self.kith._run_nested(self, name, payload)

    async def run_as(self, actor: Actor, name: str, payload: dict[str, Any] | BaseModel) -> Any:
        """Run a command inside this one's transaction on behalf of ``actor`` (their role is
        checked, history and events carry their label). Only the system may act for someone
        (a job handling mail a user sent, for example); a user never becomes another."""
        if not self.actor.is_system:
            raise KithError("forbidden", f"{self.actor.label} may not run commands as someone else")
        return await self.kith._run_nested(self, name, payload, actor=actor)

    # ---- commit-time flush -------------------------------------------------------------------
    def flush(self) -> None:
        """Queue the history and outbox rows to be written with the COMMIT."""
        tx = self._require_tx()
        st = self.kith.db.statements
        history_rows = []
        if self._history_rows:
            codec = self._codec(History)
            history_rows = [codec.encode_values(_HISTORY_COLUMNS, r) for r in self._history_rows]
        event_rows = []
        if self.events:
            codec = self._codec(OutboxEvent)
            claim = self.kith.instance_id
            now = self.now()
            event_rows = [
                codec.encode_values(
                    _OUTBOX_COLUMNS,
                    (e.id, e.name, e.entity, e.entity_id, e.actor, e.at, e.data, claim, now),
                )
                for e in self.events
            ]
        if (
            st.dialect == "postgres"
            and (history_rows or event_rows)
            and len(history_rows) <= _ROWS_PER_STATEMENT
            and len(event_rows) <= _ROWS_PER_STATEMENT
        ):
            # One round trip for both tables.
            parts = [
                (table, cols, len(rows))
                for table, cols, rows in (
                    (History, _HISTORY_COLUMNS, history_rows),
                    (OutboxEvent, _OUTBOX_COLUMNS, event_rows),
                )
                if rows
            ]
            params = [v for row in history_rows for v in row]
            params += [v for row in event_rows for v in row]
            tx.defer(st.insert_rows(parts), params)
            return
        if history_rows:
            tx.defer_many(st.insert(History, _HISTORY_COLUMNS, returning=False), history_rows)
        if event_rows:
            tx.defer_many(st.insert(OutboxEvent, _OUTBOX_COLUMNS, returning=False), event_rows)


# Above this many rows per table, history and outbox rows go by executemany.
_ROWS_PER_STATEMENT = 16
_HISTORY_COLUMNS = (
    "at",
    "actor",
    "actor_user_id",
    "command",
    "entity",
    "entity_id",
    "action",
    "changes",
)
_OUTBOX_COLUMNS = (
    "event_id",
    "name",
    "entity",
    "entity_id",
    "actor",
    "at",
    "data",
    "claimed_by",
    "claimed_at",
)
