"""Reading and writing the automations' rows (SQL from table metadata, values bound)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..context import Context
from ..db.statements import quote
from ..jobs import JobSpec
from ..permissions import Actor
from ..tables import CustomFieldDef
from .tables import Automation, AutomationRun, AutomationVersion

if TYPE_CHECKING:
    from ..runtime import Kith

ENGINE_ACTOR = Actor(user_id=None, role="system", name="Automations", via="automations")


async def _noop(ctx: Context, payload: dict[str, Any]) -> None:  # pragma: no cover
    return None


_ENGINE_SPEC = JobSpec(name="automations.engine", handler=_noop)


@asynccontextmanager
async def engine_transaction(kith: Kith) -> AsyncIterator[Context]:
    """A write transaction for the engine's own bookkeeping (runs, timers), with a context
    so jobs can be scheduled in it; events and jobs are handed on after commit."""
    async with kith.db.transaction() as tx:
        ctx = Context(kith, ENGINE_ACTOR, _ENGINE_SPEC, tx)  # type: ignore[arg-type]
        yield ctx
        ctx.flush()
    if ctx.events:
        kith.dispatcher.submit(ctx.events)
    if ctx.jobs_scheduled:
        kith.jobs.wake()


def scratch_context(kith: Kith, tx: Any) -> Context:
    """A context on ``tx`` for a dry run (rolled back by the caller)."""
    return Context(kith, ENGINE_ACTOR, _ENGINE_SPEC, tx)  # type: ignore[arg-type]


async def active_automations(kith: Kith) -> list[dict[str, Any]]:
    """Enabled automations with their current version's definition."""
    db = kith.db
    a, v = db.statements.codec(Automation), db.statements.codec(AutomationVersion)
    mark = db.statements.placeholders(1)[0]
    rows = await db.fetch(
        'SELECT a."id", a."name", a."version", a."version_id", v."definition" '  # noqa: S608
        'FROM "automations" a JOIN "automation_versions" v ON v."id" = a."version_id" '
        f'WHERE a."enabled" = {mark} AND a."archived_at" IS NULL ORDER BY a."id"',
        [a.encode("enabled", True)],
    )
    return [v.decode(r) for r in rows]


async def version_row(ctx: Context, version_id: int) -> dict[str, Any] | None:
    return await ctx.find_one(AutomationVersion, id=version_id)


async def insert_run(ctx: Context, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a run; ``None`` if this trigger already started one (delivered twice)."""
    st = ctx.kith.db.statements
    codec = st.codec(AutomationRun)
    cols = list(values)
    sql = (
        st.insert(AutomationRun, cols, returning=False)
        + ' ON CONFLICT ("automation_id", "trigger_key") DO NOTHING RETURNING *'
    )
    row = await ctx.tx.fetchone(sql, [codec.encode(c, values[c]) for c in cols])  # type: ignore[union-attr]
    return codec.decode(row) if row else None


async def recent_runs(
    kith: Kith, fetch: Any, automation_id: int, record_id: int, since: datetime, limit: int
) -> list[dict[str, Any]]:
    """Runs of an automation on a record since ``since``, newest first."""
    db = kith.db
    codec = db.statements.codec(AutomationRun)
    marks = db.statements.placeholders(4)
    rows = await fetch(
        'SELECT "id", "status" FROM "automation_runs" '  # noqa: S608
        f'WHERE "automation_id" = {marks[0]} AND "record_id" = {marks[1]} '
        f'AND "started_at" >= {marks[2]} ORDER BY "id" DESC LIMIT {marks[3]}',
        [automation_id, record_id, codec.encode("started_at", since), limit],
    )
    return rows


async def match_keys(kith: Kith) -> set[tuple[int, str, int]]:
    """``(automation, entity, record)`` of every record that matches a "matches for"
    automation (its timer running, or fired for this stretch of matching)."""
    rows = await kith.db.fetch(
        'SELECT "automation_id", "entity", "record_id" FROM "automation_matches"'
    )
    return {(r["automation_id"], r["entity"], r["record_id"]) for r in rows}


async def custom_field_types(ctx: Context) -> dict[tuple[str, str], str]:
    rows = await ctx.select(CustomFieldDef)
    return {(r["entity"], r["key"]): r["type"] for r in rows if r.get("archived_at") is None}


async def record_batch(
    fetch: Any, kith: Kith, table: Any, after_id: int, limit: int
) -> list[dict[str, Any]]:
    """Active records of ``table`` with ids above ``after_id``, in id order (as stored:
    the engine's loader decodes what it reads)."""
    st = kith.db.statements
    codec = st.codec(table)
    marks = st.placeholders(2)
    archived = ' AND "archived_at" IS NULL' if "archived_at" in codec.column_set else ""
    rows = await fetch(
        f'SELECT * FROM {quote(codec.tablename)} WHERE "id" > {marks[0]}{archived} '  # noqa: S608
        f'ORDER BY "id" LIMIT {marks[1]}',
        [after_id, limit],
    )
    return rows
