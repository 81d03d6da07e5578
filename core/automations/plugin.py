"""The automations engine as a core plugin, registered right after ``core``: its tables,
commands, jobs, the core actions, and its place on the event bus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from .core_actions import CORE_ACTIONS
from .engine import AutomationSettings, close_engine, engine_for

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..commands import CommandSpec
    from ..context import Context
    from ..events import Event
    from ..jobs import JobSpec
    from ..runtime import Kith
    from .actions import ActionSpec


@hookimpl
def kith_tables() -> list[str]:
    """The automations' piccolo app (migrated after the core's)."""
    return ["kith.automations.piccolo_app"]


@hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.automations]``: max_depth, runs_per_record_per_hour, records_per_tick."""
    return AutomationSettings


@hookimpl
def kith_commands() -> list[CommandSpec]:
    """automation.create|update|enable|disable|get|list|dry_run|runs|import|export."""
    from .commands import COMMANDS

    return COMMANDS


@hookimpl
def kith_jobs() -> list[JobSpec]:
    """Runs, "matches for" timers, schedule ticks, scans and webhook deliveries."""
    from .jobs import JOBS

    return JOBS


@hookimpl(trylast=True)
def kith_automation_actions() -> list[ActionSpec]:
    """The actions that need only the core (a plugin may override one by its name)."""
    return CORE_ACTIONS


@hookimpl
async def kith_on_event(event: Event, kith: Kith) -> None:
    """Start the runs that ``event`` triggers."""
    await engine_for(kith).on_event(event)


@hookimpl
def kith_shutdown(kith: Kith) -> None:
    """Close the engine's own read connection."""
    close_engine(kith)


@hookimpl
async def kith_erase_contact(ctx: Context, contact_id: int, addresses: list[str]) -> None:
    """Run logs of automations about an erased person (their trigger event and step log)."""
    from .tables import AutomationRun

    for row in await ctx.select(AutomationRun, entity="contact", record_id=contact_id):
        await ctx.update(
            AutomationRun,
            row,
            {"trigger": {"erased": True}, "steps": [], "conditions": []},
            record_history=False,
        )
