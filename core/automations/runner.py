"""Performing runs: each stretch of steps up to a wait is one job, atomic with the run's log.

A run's job loads the run, the version it started on and the record (fresh: a branch after a
wait sees the record as it is now), then executes the program from the stored position:
actions (each in a savepoint, so a refused action is logged without undoing the others),
branches (conditions re-checked, values logged), waits (the next job is scheduled for the
wake time and the run sleeps in the ``jobs`` table — a restart loses nothing). A real run
and a dry run call the same :func:`run_segment`; the dry run's transaction is rolled back.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from pydantic import ValidationError

from ..context import Context
from ..errors import KithError, from_validation_error
from .actions import PLUGIN_ACTIONS, ActionContext
from .conditions import Env, evaluate
from .engine import RUN_JOB, Engine, automation_actor, run_key
from .fields import Loader
from .model import Definition, Op, describe_op
from .tables import Automation, AutomationRun, AutomationVersion
from .templates import RenderError, names_used, render

SAVEPOINT = "kith_automation_action"
FINAL = ("done", "failed", "cancelled", "stopped_loop", "rate_limited")


def jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class _Savepoint:
    """SAVEPOINT around one action: a refused action leaves no rows, history or events."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        root = ctx.root
        self.marks = (len(root.events), len(root._history_rows), len(root.jobs_scheduled))

    async def __aenter__(self) -> _Savepoint:
        await self.ctx.tx.execute(f"SAVEPOINT {SAVEPOINT}")  # type: ignore[union-attr]
        return self

    async def release(self) -> None:
        await self.ctx.tx.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")  # type: ignore[union-attr]

    async def rollback(self) -> None:
        await self.ctx.tx.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")  # type: ignore[union-attr]
        await self.release()
        root = self.ctx.root
        del root.events[self.marks[0] :]
        del root._history_rows[self.marks[1] :]
        del root.jobs_scheduled[self.marks[2] :]

    async def __aexit__(self, *exc: object) -> None:
        return None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KithError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def run_action(
    ctx: Context,
    engine: Engine,
    run: dict[str, Any],
    definition: Definition,
    op: Op,
    loader: Loader,
    row: dict[str, Any] | None,
    automation: dict[str, Any],
) -> dict[str, Any]:
    """Render, validate and perform one action; the log entry says what it did or why not."""
    now = ctx.now()
    entry: dict[str, Any] = {"step": op.where, "action": op.name, "at": now.isoformat()}
    spec = engine.actions.get(op.name)
    if spec is None:
        plugin = PLUGIN_ACTIONS.get(op.name)
        entry["error"] = (
            f"needs plugin {plugin}: the action {op.name} is not installed"
            if plugin
            else f"the action {op.name} is no longer installed"
        )
        return entry
    entity = run["entity"]
    used = names_used(op.config, ("record", entity) if entity else ("record",))
    view = await loader.view(entity, row, used) if entity else None
    event = (run["trigger"] or {}).get("event")
    variables: dict[str, Any] = {"record": view, "event": event, "automation": automation}
    if entity:
        variables[entity] = view
    try:
        rendered = render(op.config, variables, op.name)
    except RenderError as exc:
        entry["error"] = str(exc)
        return entry
    entry["input"] = jsonable(rendered)
    try:
        config = spec.config.model_validate(rendered)
    except ValidationError as exc:
        entry["error"] = str(from_validation_error(exc, op.name))
        return entry
    actx = ActionContext(
        ctx=ctx,
        actor=automation_actor(automation["id"], automation["name"], run["id"], run["depth"]),
        automation=automation,
        run_id=run["id"],
        entity=entity,
        record_id=run["record_id"],
        record=view,
        event=event,
        tz=definition.tz,
        loader=loader,
        step=op.where,
    )
    savepoint = _Savepoint(ctx)
    async with savepoint:
        try:
            result = await spec.run(actx, config)
        except (
            KithError,
            sqlite3.IntegrityError,
            asyncpg.IntegrityConstraintViolationError,
        ) as exc:
            await savepoint.rollback()
            entry["error"] = _error_text(exc)
            return entry
        await savepoint.release()
    entry["result"] = jsonable(result or {})
    return entry


async def run_segment(
    ctx: Context, engine: Engine, run: dict[str, Any], definition: Definition
) -> dict[str, Any]:
    """Execute ``run`` from its position until a wait, the end, or a refused action; record
    the progress on the run row (in ``ctx``'s transaction). Returns the updated row."""
    now = ctx.now()
    loader = Loader(ctx.fetch, ctx.kith.db.statements)
    entity, record_id = run["entity"], run["record_id"]
    automation = {"id": run["automation_id"], "name": definition.name, "version": run["version"]}
    steps = list(run["steps"] or [])
    pc = run["pc"]
    status, error, wait_until = "running", None, None
    event = (run["trigger"] or {}).get("event")
    row = await loader.row(entity, record_id) if entity and record_id is not None else None
    if entity and record_id is not None and row is None:
        status, error = "failed", f"the {entity} #{record_id} no longer exists"
    stale = False  # an action may have changed the record: read it again before using it
    budget = len(definition.program) + 1
    while status == "running" and budget > 0:
        budget -= 1
        op = definition.program[pc]
        if stale and op.kind in ("branch", "action"):
            loader.forget()
            row = await loader.row(entity, record_id) if entity and record_id else None
            stale = False
        if op.kind == "end":
            status = "done"
        elif op.kind == "jump":
            pc = op.target
        elif op.kind == "branch":
            env = Env(loader, entity, row, event, now, definition.tz)
            holds = await evaluate(op.condition, env)
            steps.append(
                {
                    "step": op.where,
                    "if": describe_op(op).removeprefix("if "),
                    "result": holds,
                    "conditions": env.trace,
                    "at": now.isoformat(),
                }
            )
            pc = pc + 1 if holds else op.target
        elif op.kind == "wait":
            assert op.wait is not None
            wake = op.wait.after(now, definition.tz)
            steps.append({"step": op.where, "wait": str(op.wait), "until": wake.isoformat()})
            pc += 1
            status, wait_until = "waiting", wake
            await ctx.schedule(RUN_JOB, {"run": run["id"]}, at=wake, key=run_key(run["id"]))
        else:
            entry = await run_action(ctx, engine, run, definition, op, loader, row, automation)
            steps.append(entry)
            if "error" in entry:
                status, error = "failed", f"{op.where}: {entry['error']}"
            else:
                pc += 1
                stale = True
    changes: dict[str, Any] = {
        "steps": steps,
        "pc": pc,
        "status": status,
        "wait_until": wait_until,
        "error": error,
        "updated_at": now,
    }
    if status in FINAL:
        changes["finished_at"] = now
    updated, _ = await ctx.update(AutomationRun, run, changes, record_history=False)
    return updated


async def perform(ctx: Context, engine: Engine, run_id: int) -> dict[str, Any] | None:
    """The ``automations.run`` job: continue run ``run_id`` on its own version."""
    run = await ctx.find_one(AutomationRun, id=run_id)
    if run is None or run["status"] in FINAL:
        return run
    try:
        definition = engine.cached_version(run["version_id"])
        if definition is None:
            version = await ctx.find_one(AutomationVersion, id=run["version_id"])
            definition = engine.version(
                run["version_id"], version["definition"] if version else None
            )
    except KithError as err:
        updated, _ = await ctx.update(
            AutomationRun,
            run,
            {
                "status": "failed",
                "error": f"its definition no longer loads: {err}",
                "finished_at": ctx.now(),
                "updated_at": ctx.now(),
            },
            record_history=False,
        )
        return updated
    return await run_segment(ctx, engine, run, definition)


async def automation_row(ctx: Context, automation_id: int) -> dict[str, Any] | None:
    return await ctx.find_one(Automation, id=automation_id)
