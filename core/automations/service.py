"""What the automation commands share: saving versions, arming and disarming triggers,
refusing definitions that cannot run or that obviously trigger each other in a circle."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..errors import FieldError, KithError
from ..refs import resolve
from . import store
from .engine import SCAN_JOB, TICK_JOB, Engine, match_key, run_key, tick_key
from .model import Definition, find_cycle
from .tables import Automation, AutomationMatch, AutomationRun, AutomationVersion
from .yaml_io import load_one


async def parse_input(ctx: Context, engine: Engine, definition: dict[str, Any] | str) -> Definition:
    """Parse a definition given as a mapping or as YAML text, as the command's actor."""
    raw = load_one(definition) if isinstance(definition, str) else definition
    custom = await store.custom_field_types(ctx)
    return engine.parse(raw, actor=ctx.actor, custom_defs=custom)


async def resolve_automation(ctx: Context, ref: Any, field: str = "automation") -> dict[str, Any]:
    return await resolve(ctx, Automation, ref, field=field, entity="automation")


async def current_definition(ctx: Context, engine: Engine, row: dict[str, Any]) -> Definition:
    version = await ctx.find_one(AutomationVersion, id=row["version_id"])
    assert version is not None
    return engine.version(version["id"], version["definition"])


def check_runnable(definition: Definition) -> None:
    """Refuse to enable a definition whose actions or commands no plugin provides."""
    if definition.problems:
        first = definition.problems[0]
        raise KithError(
            "needs_plugin",
            f"{definition.name} cannot be enabled: {first.message}",
            list(definition.problems),
            status=409,
        )


async def check_cycles(
    ctx: Context, engine: Engine, definition: Definition, automation_id: int | None
) -> None:
    """Refuse ``definition`` when, with the enabled automations, its actions start another
    automation whose actions start it again."""
    enabled: dict[str, Definition] = {}
    for row in await store.active_automations(ctx.kith):
        if row["id"] == automation_id:
            continue
        try:
            enabled[row["name"]] = engine.version(row["version_id"], row["definition"])
        except KithError:
            continue
    enabled[definition.name] = definition
    cycle = find_cycle(definition.name, enabled)
    if cycle is None:
        return
    names = " → ".join([*(step[0] for step in cycle), cycle[0][0]])
    reasons = "; ".join(f"{a!r} {where} emits {event}" for a, where, event in cycle)
    first_where = next(where for a, where, _ in cycle if a == definition.name)
    message = f"these automations would trigger each other in a circle ({names}): {reasons}"
    raise KithError("invalid_input", message, [FieldError(first_where, message, "cycle")])


async def save_version(
    ctx: Context, row: dict[str, Any], definition: Definition, number: int
) -> dict[str, Any]:
    version = await ctx.insert(
        AutomationVersion,
        {"automation_id": row["id"], "version": number, "definition": definition.raw},
        record_history=False,
    )
    changes = {
        "version": number,
        "version_id": version["id"],
        "name": definition.name,
        "description": definition.description,
        "trigger": definition.trigger.label,
        "entity": definition.entity,
        "problems": [p.as_dict() for p in definition.problems],
    }
    updated, _ = await ctx.update(Automation, row, changes, record_history=row["version"] != number)
    return updated


async def arm(ctx: Context, row: dict[str, Any], definition: Definition) -> None:
    """Start what an enabled automation needs beyond the event bus: its schedule's first
    tick, or the scan that starts "matches for" timers of records that already match."""
    trigger = definition.trigger
    if trigger.kind == "schedule":
        assert trigger.cron is not None
        await ctx.schedule(
            TICK_JOB,
            {"automation": row["id"]},
            at=trigger.cron.next_after(ctx.now(), definition.tz),
            key=tick_key(row["id"]),
        )
    elif trigger.kind == "matches_for":
        await ctx.schedule(SCAN_JOB, {"automation": row["id"]}, key=f"automation-scan:{row['id']}")


async def disarm(ctx: Context, row: dict[str, Any]) -> None:
    """Stop a schedule and every "matches for" timer of the automation."""
    await ctx.cancel(tick_key(row["id"]))
    await ctx.cancel(f"automation-scan:{row['id']}")
    for match in await ctx.select(AutomationMatch, automation_id=row["id"]):
        await ctx.cancel(match_key(row["id"], match["entity"], match["record_id"]))
        await ctx.delete(AutomationMatch, match["id"])


async def cancel_runs(ctx: Context, automation_id: int) -> int:
    """Cancel the runs of an automation that are waiting or about to run."""
    count = 0
    for status in ("waiting", "running"):
        for run in await ctx.select(AutomationRun, automation_id=automation_id, status=status):
            await ctx.cancel(run_key(run["id"]))
            await ctx.update(
                AutomationRun,
                run,
                {
                    "status": "cancelled",
                    "error": f"cancelled by {ctx.actor.name or ctx.actor.label}",
                    "finished_at": ctx.now(),
                    "updated_at": ctx.now(),
                },
                record_history=False,
            )
            count += 1
    return count
