"""Dry runs: what an automation would do on recent events — by doing it, then rolling back.

For each recent trigger the dry run takes the same path as a real run (the engine's
:meth:`~.engine.Engine.plan`, then :meth:`~.engine.Engine.start`, then
:func:`~.runner.run_segment`) inside a transaction that is rolled back: the immediate actions
are performed for real against today's data, their inputs and results logged, and nothing
stays. Steps after the first wait are listed, not simulated (they depend on the future).
"""

from __future__ import annotations

import uuid
from typing import Any

from ..db.statements import quote
from ..tables import OutboxEvent
from .engine import Active, Engine, event_from_row
from .fields import CATALOG, Loader
from .model import Definition, describe_op
from .runner import run_segment
from .store import scratch_context
from .tables import Automation, AutomationVersion


class _Rollback(Exception):
    pass


async def recent_events(
    kith: Any, name: str, limit: int, event_id: str | None
) -> list[dict[str, Any]]:
    st = kith.db.statements
    codec = st.codec(OutboxEvent)
    mark = st.placeholders(2)
    column = "event_id" if event_id else "name"
    rows = await kith.db.fetch(
        f'SELECT * FROM "outbox_events" WHERE {quote(column)} = {mark[0]} '  # noqa: S608
        f'ORDER BY "id" DESC LIMIT {mark[1]}',
        [event_id or name, limit],
    )
    events = [event_from_row(codec.decode(r)) for r in rows]
    return [e for e in events if e["name"] == name]


async def recent_records(kith: Any, entity: str, limit: int) -> list[int]:
    table = CATALOG.table(entity)
    assert table is not None
    codec = kith.db.statements.codec(table)
    order = "updated_at" if "updated_at" in codec.column_set else "id"
    archived = 'WHERE "archived_at" IS NULL ' if "archived_at" in codec.column_set else ""
    mark = kith.db.statements.placeholders(1)[0]
    rows = await kith.db.fetch(
        f'SELECT "id" FROM {quote(codec.tablename)} {archived}'  # noqa: S608
        f'ORDER BY {quote(order)} DESC, "id" DESC LIMIT {mark}',
        [limit],
    )
    return [r["id"] for r in rows]


def _later(definition: Definition, pc: int) -> list[str]:
    return [describe_op(op) for op in definition.program[pc:] if op.kind not in ("end", "jump")]


async def dry_run(
    kith: Any,
    engine: Engine,
    definition: Definition,
    automation: dict[str, Any] | None,
    *,
    limit: int,
    event_id: str | None = None,
) -> list[dict[str, Any]]:
    """One result per recent trigger: matched?, conditions with values, the immediate steps
    with their inputs and results (or errors), and what would come after a wait."""
    trigger = definition.trigger
    cases: list[dict[str, Any]] = []
    if trigger.kind == "event":
        for event in await recent_events(kith, trigger.event or "", limit, event_id):
            cases.append({"event": event})
    elif definition.entity:
        for record_id in await recent_records(kith, definition.entity, limit):
            cases.append({"record_id": record_id})
    else:
        cases.append({})
    results = []
    for case in cases:
        results.append(await _one(kith, engine, definition, automation, case))
    return results


async def _one(
    kith: Any,
    engine: Engine,
    definition: Definition,
    automation: dict[str, Any] | None,
    case: dict[str, Any],
) -> dict[str, Any]:
    event = case.get("event")
    out: dict[str, Any] = {}
    try:
        async with kith.db.transaction() as tx:
            ctx = scratch_context(kith, tx)
            if automation is None:
                automation = await ctx.insert(
                    Automation,
                    {
                        "name": f"dry run {uuid.uuid4().hex[:8]}: {definition.name}"[:200],
                        "trigger": definition.trigger.label,
                    },
                    record_history=False,
                )
                version = await ctx.insert(
                    AutomationVersion,
                    {"automation_id": automation["id"], "definition": definition.raw},
                    record_history=False,
                )
                automation = {**automation, "version_id": version["id"], "version": 0}
            active = Active(
                automation["id"],
                definition.name,
                automation["version"],
                automation["version_id"],
                definition,
            )
            loader = Loader(ctx.fetch, kith.db.statements)
            record_id = case.get("record_id")
            if event is not None:
                key = f"dry-run:{event['id']}"
                plan = await engine.plan(active, event, loader, trigger_key=key)
                out["trigger"] = {k: event[k] for k in ("id", "name", "entity", "entity_id", "at")}
            else:
                kind = definition.trigger.kind
                plan = await engine.plan(
                    active,
                    None,
                    loader,
                    entity=definition.entity,
                    record_id=record_id,
                    trigger={"kind": kind, "at": ctx.now().isoformat()},
                    trigger_key=f"dry-run:{kind}:{record_id}",
                    depth=1,
                )
                out["trigger"] = {"kind": kind, "entity": definition.entity, "record_id": record_id}
            out.update(matched=plan.matched, conditions=plan.trace, status=plan.status)
            if plan.status != "start":
                if plan.error:
                    out["error"] = plan.error
                raise _Rollback
            run = await engine.start(ctx, plan, schedule=False)
            assert run is not None
            run = await run_segment(ctx, engine, run, definition)
            out.update(status=run["status"], steps=run["steps"], error=run["error"])
            if run["status"] == "waiting":
                out["later"] = _later(definition, run["pc"])
            raise _Rollback
    except _Rollback:
        pass
    return out
