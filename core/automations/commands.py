"""``automation.*`` commands: so the API, MCP, Slack and the CLI all define automations the
same way, with the same checks and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ..commands import command
from ..context import Context, register_entity
from ..entities._common import Input, Ref
from ..errors import FieldError, KithError
from . import service, store
from .dryrun import dry_run
from .engine import engine_for
from .model import KEYS
from .tables import Automation, AutomationRun, AutomationVersion
from .yaml_io import dump, load_documents

register_entity(Automation, "automation")

Definition = dict[str, Any] | str
DEFINITION_HELP = (
    "The automation: a mapping with name, when, if, then (see docs/automations.md), "
    "or the same as YAML text"
)


class AutomationOut(BaseModel):
    id: int
    name: str
    description: str | None = None
    enabled: bool
    version: int
    trigger: str
    entity: str | None = None
    problems: list[dict[str, Any]] = []
    definition: dict[str, Any] = {}
    created_at: datetime
    updated_at: datetime


class AutomationCreate(Input):
    definition: Definition = Field(description=DEFINITION_HELP)
    enabled: bool | None = Field(None, description="Default: the definition's enabled:, or off")


class AutomationUpdate(Input):
    automation: Ref
    definition: Definition = Field(description=DEFINITION_HELP)


class AutomationRef(Input):
    automation: Ref = Field(description="The automation: id or name")


class AutomationDisable(AutomationRef):
    cancel_runs: bool = Field(False, description="Also cancel its runs that are waiting")


class AutomationList(Input):
    enabled: bool | None = None


class AutomationListOut(BaseModel):
    automations: list[AutomationOut]


class DryRunIn(Input):
    automation: Ref | None = Field(None, description="A saved automation (its current version)")
    definition: Definition | None = Field(None, description="Or a definition not saved yet")
    events: int = Field(5, ge=1, le=50, description="How many recent triggers to try")
    event: str | None = Field(None, description="One event id to try instead")


class DryRunOut(BaseModel):
    automation: str
    results: list[dict[str, Any]]


class RunsIn(Input):
    automation: Ref | None = None
    run: int | None = None
    status: str | None = Field(None, max_length=20)
    record: int | None = Field(None, description="Only runs on this record id")
    limit: int = Field(20, ge=1, le=500)


class RunOut(BaseModel):
    id: int
    automation_id: int
    version: int
    status: str
    trigger: dict[str, Any]
    entity: str | None
    record_id: int | None
    depth: int
    conditions: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    wait_until: datetime | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class RunsOut(BaseModel):
    runs: list[RunOut]


class ImportIn(Input):
    yaml: str = Field(max_length=1_000_000, description="One or more automations as YAML")


class ImportOut(BaseModel):
    results: list[dict[str, Any]]


class ExportIn(Input):
    automation: Ref | None = Field(None, description="Default: every automation")


class ExportOut(BaseModel):
    yaml: str


async def _present(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    version = await ctx.find_one(AutomationVersion, id=row["version_id"])
    return {**row, "definition": version["definition"] if version else {}}


def _conflict(name: str, other: dict[str, Any]) -> KithError:
    message = f"there is already an automation called {other['name']!r} (#{other['id']})"
    return KithError(
        "conflict",
        f"definition.name: {message}; change it with automation.update",
        [FieldError("definition.name", message, "duplicate")],
        status=409,
    )


async def _by_name(ctx: Context, name: str) -> dict[str, Any] | None:
    mark = ctx.kith.db.statements.placeholders(1)[0]
    rows = await ctx.fetch(
        f'SELECT "id" FROM "automations" WHERE lower("name") = lower({mark})',  # noqa: S608
        [name],
    )
    return await ctx.find_one(Automation, id=rows[0]["id"]) if rows else None


async def create(ctx: Context, data: AutomationCreate) -> dict[str, Any]:
    engine = engine_for(ctx.kith)
    definition = await service.parse_input(ctx, engine, data.definition)
    other = await _by_name(ctx, definition.name)
    if other is not None:
        raise _conflict(definition.name, other)
    raw = data.definition if isinstance(data.definition, dict) else {}
    enabled = data.enabled if data.enabled is not None else bool(raw.get("enabled", False))
    if isinstance(data.definition, str) and data.enabled is None:
        from .yaml_io import load_one

        enabled = bool(load_one(data.definition).get("enabled", False))
    if enabled:
        service.check_runnable(definition)
        await service.check_cycles(ctx, engine, definition, None)
    row = await ctx.insert(
        Automation,
        {"name": definition.name, "enabled": enabled, "version": 0, "trigger": ""},
    )
    row = await service.save_version(ctx, row, definition, 1)
    if enabled:
        await service.arm(ctx, row, definition)
    ctx.emit("automation.created", "automation", row["id"], automation=row["name"], enabled=enabled)
    return await _present(ctx, row)


@command(
    "automation.create",
    input=AutomationCreate,
    output=AutomationOut,
    permission="automations.manage",
)
async def create_automation(ctx: Context, data: AutomationCreate) -> dict[str, Any]:
    """Create an automation from its definition (when / if / then). Every problem is
    refused with its path and reason; it starts disabled unless enabled is true."""
    return await create(ctx, data)


async def update(ctx: Context, row: dict[str, Any], definition_input: Definition) -> dict[str, Any]:
    engine = engine_for(ctx.kith)
    definition = await service.parse_input(ctx, engine, definition_input)
    other = await _by_name(ctx, definition.name)
    if other is not None and other["id"] != row["id"]:
        raise _conflict(definition.name, other)
    current = await service.current_definition(ctx, engine, row)
    if current.raw == definition.raw:
        return row
    if row["enabled"]:
        service.check_runnable(definition)
        await service.check_cycles(ctx, engine, definition, row["id"])
        await service.disarm(ctx, row)
    row = await service.save_version(ctx, row, definition, row["version"] + 1)
    if row["enabled"]:
        await service.arm(ctx, row, definition)
    ctx.emit(
        "automation.updated",
        "automation",
        row["id"],
        automation=row["name"],
        version=row["version"],
    )
    return row


@command(
    "automation.update",
    input=AutomationUpdate,
    output=AutomationOut,
    permission="automations.manage",
)
async def update_automation(ctx: Context, data: AutomationUpdate) -> dict[str, Any]:
    """Save a new version of an automation's definition. Runs in progress finish on the
    version they started with; new triggers use the new one."""
    row = await service.resolve_automation(ctx, data.automation)
    row = await ctx.get(Automation, row["id"], field="automation", for_update=True)
    return await _present(ctx, await update(ctx, row, data.definition))


async def enable(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    if row["enabled"]:
        return row
    engine = engine_for(ctx.kith)
    definition = await service.current_definition(ctx, engine, row)
    custom = await store.custom_field_types(ctx)
    # plugins may have come or gone since it was saved: check it again, as the enabler
    fresh = engine.parse(definition.raw, actor=ctx.actor, custom_defs=custom)
    service.check_runnable(fresh)
    await service.check_cycles(ctx, engine, fresh, row["id"])
    row, _ = await ctx.update(Automation, row, {"enabled": True, "problems": []}, action="enabled")
    await service.arm(ctx, row, fresh)
    ctx.emit("automation.enabled", "automation", row["id"], automation=row["name"])
    return row


@command(
    "automation.enable", input=AutomationRef, output=AutomationOut, permission="automations.manage"
)
async def enable_automation(ctx: Context, data: AutomationRef) -> dict[str, Any]:
    """Turn an automation on. Refused, naming what is missing, when an action needs a plugin
    that is not installed, or when it would trigger another automation in a circle."""
    row = await service.resolve_automation(ctx, data.automation)
    row = await ctx.get(Automation, row["id"], field="automation", for_update=True)
    return await _present(ctx, await enable(ctx, row))


@command(
    "automation.disable",
    input=AutomationDisable,
    output=AutomationOut,
    permission="automations.manage",
    idempotent=True,
)
async def disable_automation(ctx: Context, data: AutomationDisable) -> dict[str, Any]:
    """Turn an automation off: no new runs. Runs that are waiting finish, unless
    cancel_runs is true."""
    row = await service.resolve_automation(ctx, data.automation)
    if row["enabled"]:
        row, _ = await ctx.update(Automation, row, {"enabled": False}, action="disabled")
        await service.disarm(ctx, row)
        ctx.emit("automation.disabled", "automation", row["id"], automation=row["name"])
    if data.cancel_runs:
        await service.cancel_runs(ctx, row["id"])
    return await _present(ctx, row)


@command(
    "automation.get",
    input=AutomationRef,
    output=AutomationOut,
    permission="automations.read",
    read_only=True,
)
async def get_automation(ctx: Context, data: AutomationRef) -> dict[str, Any]:
    """Show an automation: its current definition, version, state and problems."""
    return await _present(ctx, await service.resolve_automation(ctx, data.automation))


@command(
    "automation.list",
    input=AutomationList,
    output=AutomationListOut,
    permission="automations.read",
    read_only=True,
)
async def list_automations(ctx: Context, data: AutomationList) -> dict[str, Any]:
    """List automations (optionally only the enabled or the disabled ones)."""
    filters: dict[str, Any] = {} if data.enabled is None else {"enabled": data.enabled}
    rows = await ctx.select(Automation, order_by="id", **filters)
    rows = [r for r in rows if r["archived_at"] is None]
    return {"automations": [await _present(ctx, r) for r in rows]}


@command(
    "automation.dry_run",
    input=DryRunIn,
    output=DryRunOut,
    permission="automations.manage",
    read_only=True,
)
async def dry_run_automation(ctx: Context, data: DryRunIn) -> dict[str, Any]:
    """Show what an automation would do on recent events: the conditions with their values
    and the immediate actions, performed for real and rolled back. Nothing is written."""
    engine = engine_for(ctx.kith)
    if (data.automation is None) == (data.definition is None):
        raise KithError(
            "invalid_input",
            "Give either automation (a saved one) or definition (a new one).",
            [FieldError("automation", "give automation or definition")],
        )
    automation = None
    if data.automation is not None:
        automation = await service.resolve_automation(ctx, data.automation)
        definition = await service.current_definition(ctx, engine, automation)
    else:
        assert data.definition is not None
        definition = await service.parse_input(ctx, engine, data.definition)
    results = await dry_run(
        ctx.kith, engine, definition, automation, limit=data.events, event_id=data.event
    )
    return {"automation": definition.name, "results": results}


@command(
    "automation.runs", input=RunsIn, output=RunsOut, permission="automations.read", read_only=True
)
async def automation_runs(ctx: Context, data: RunsIn) -> dict[str, Any]:
    """The run log, newest first: trigger, conditions with their values, steps done, errors."""
    filters: dict[str, Any] = {}
    if data.automation is not None:
        filters["automation_id"] = (await service.resolve_automation(ctx, data.automation))["id"]
    if data.run is not None:
        filters["id"] = data.run
    if data.status is not None:
        filters["status"] = data.status
    if data.record is not None:
        filters["record_id"] = data.record
    rows = await ctx.select(
        AutomationRun, order_by="id", descending=True, limit=data.limit, **filters
    )
    return {"runs": rows}


@command("automation.import", input=ImportIn, output=ImportOut, permission="automations.manage")
async def import_automations(ctx: Context, data: ImportIn) -> dict[str, Any]:
    """Create or update automations from YAML (one per document); all or nothing. An
    automation imports disabled unless it says enabled: true."""
    results = []
    for i, raw in enumerate(load_documents(data.yaml)):
        try:
            existing = await _by_name(ctx, str(raw.get("name", "")))
            if existing is None:
                created = await create(ctx, AutomationCreate(definition=raw))
                results.append(
                    {
                        "name": created["name"],
                        "id": created["id"],
                        "result": "created",
                        "enabled": created["enabled"],
                        "problems": created["problems"],
                    }
                )
                continue
            updated = await update(ctx, existing, raw)
            if "enabled" in raw and raw["enabled"] != updated["enabled"]:
                if raw["enabled"]:
                    updated = await enable(ctx, updated)
                else:
                    updated, _ = await ctx.update(
                        Automation, updated, {"enabled": False}, action="disabled"
                    )
                    await service.disarm(ctx, updated)
                    ctx.emit("automation.disabled", "automation", updated["id"])
            result = "updated" if updated["version"] != existing["version"] else "unchanged"
            results.append(
                {
                    "name": updated["name"],
                    "id": updated["id"],
                    "result": result,
                    "enabled": updated["enabled"],
                    "problems": updated["problems"],
                }
            )
        except KithError as err:
            name = raw.get("name") or f"document {i + 1}"
            err.message = f"{name}: {err.message}"
            raise
    return {"results": results}


@command(
    "automation.export",
    input=ExportIn,
    output=ExportOut,
    permission="automations.read",
    read_only=True,
)
async def export_automations(ctx: Context, data: ExportIn) -> dict[str, Any]:
    """Every automation (or one) as readable YAML, ready for automation.import."""
    if data.automation is not None:
        rows = [await service.resolve_automation(ctx, data.automation)]
    else:
        rows = [r for r in await ctx.select(Automation, order_by="id") if r["archived_at"] is None]
    docs = []
    for row in rows:
        definition = (await _present(ctx, row))["definition"]
        ordered = {k: definition[k] for k in KEYS if k in definition}
        ordered["enabled"] = bool(row["enabled"])
        docs.append(ordered)
    return {"yaml": dump(docs) if docs else ""}


COMMANDS = [
    create_automation,
    update_automation,
    enable_automation,
    disable_automation,
    get_automation,
    list_automations,
    dry_run_automation,
    automation_runs,
    import_automations,
    export_automations,
]
