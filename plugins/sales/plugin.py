"""The sales plugin's hook implementations: what it adds to Kith, all through public hooks.

* ``kith_settings_model`` — ``[plugins.sales]`` (:mod:`.settings`);
* ``kith_tables`` — its piccolo app (:mod:`.tables`, migrations in ``piccolo_migrations/``);
* ``kith_commands`` — deal moves, lead capture/qualify/convert, routing, forecast...;
* ``kith_jobs`` — the follow-up checks (:mod:`.jobs`);
* ``kith_validate`` — guards on the core's stage and pipeline commands;
* ``kith_on_event`` — keeps follow-ups in step with what happened elsewhere;
* ``kith_init`` — the default ``Sales`` pipeline on ``kith init``;
* ``kith_automation_actions`` — ``move_deal`` and ``assign_by_rule`` for automations.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import kith
from pydantic import BaseModel

from .commands import convert, deals, follow_ups, forecast, leads, pipelines, routing, stats
from .jobs import JOBS
from .settings import SalesSettings

log = logging.getLogger("kith.plugins.sales")

GUARDED = frozenset({"stage.archive", "pipeline.archive", "stage.update"})
CONTACTING = frozenset({"call", "email", "meeting"})


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.sales]`` in plugins.toml."""
    return SalesSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """The plugin's piccolo app (migrated after the core's)."""
    return ["kith.plugins.sales.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """Every sales command."""
    return kith.commands_in(pipelines, deals, leads, convert, routing, follow_ups, forecast, stats)


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """The follow-up checks."""
    return list(JOBS)


@kith.hookimpl
def kith_automation_actions() -> list[kith.ActionSpec]:
    """move_deal and assign_by_rule."""
    from .automation_actions import ACTIONS

    return ACTIONS


@kith.hookimpl
def kith_validate(command: str, data: BaseModel, actor: kith.Actor) -> Awaitable[None] | None:
    """Refuse archiving a stage or pipeline that still holds deals, and changing the kind of
    a stage that holds deals. (Sync, returning an awaitable only for those commands: every
    other command pays nothing.)"""
    if command in GUARDED:
        return pipelines.guard(kith.current(), command, data)
    return None


@kith.hookimpl
async def kith_init(kith: kith.Kith) -> None:
    """Create the default ``Sales`` pipeline when there is no pipeline yet."""
    if await pipelines.ensure_default_pipeline(kith):
        log.info("created the default Sales pipeline")


async def _run(app: kith.Kith, name: str, payload: dict[str, Any]) -> None:
    await app.run(name, payload, kith.SYSTEM)


async def _on_lead_created(event: kith.Event, app: kith.Kith) -> None:
    mark = app.db.statements.placeholders(1)[0]
    routed = await app.db.fetch(
        f'SELECT 1 FROM "sales_assignments" WHERE "lead_id" = {mark} LIMIT 1',  # noqa: S608
        [event.entity_id],
    )
    if not routed:
        await _run(app, "lead.route", {"lead": event.entity_id, "only_if_new": True})


async def _on_activity(event: kith.Event, app: kith.Kith) -> None:
    record = event.data.get("record") or {}
    if record.get("deal_id"):
        await _run(app, "deal.follow_up", {"deal": record["deal_id"]})
    if record.get("kind") not in CONTACTING:
        return
    leads_touched = {record["lead_id"]} if record.get("lead_id") else set()
    if record.get("contact_id"):
        mark = app.db.statements.placeholders(1)[0]
        rows = await app.db.fetch(
            f'SELECT "id" FROM "leads" WHERE "contact_id" = {mark} '  # noqa: S608
            "AND \"status\" IN ('new', 'mql', 'qualified') AND \"archived_at\" IS NULL",
            [record["contact_id"]],
        )
        leads_touched.update(r["id"] for r in rows)
    for lead_id in sorted(leads_touched):
        await _run(app, "lead.follow_up", {"lead": lead_id})


async def _on_task_completed(event: kith.Event, app: kith.Kith) -> None:
    mark = app.db.statements.placeholders(1)[0]
    rows = await app.db.fetch(
        f'SELECT "record_type", "record_id" FROM "tasks" WHERE "id" = {mark}',  # noqa: S608
        [event.entity_id],
    )
    if rows and rows[0]["record_type"] == "deal":
        await _run(app, "deal.follow_up", {"deal": rows[0]["record_id"]})


async def _on_deal_created(event: kith.Event, app: kith.Kith) -> None:
    await _run(app, "deal.follow_up", {"deal": event.entity_id})


async def _on_lead_mql(event: kith.Event, app: kith.Kith) -> None:
    """A lead that became marketing-qualified (e.g. by the marketing plugin's scoring) is
    routed to an owner if it has none."""
    await _run(app, "lead.route", {"lead": event.entity_id})


HANDLERS = {
    "lead.created": _on_lead_created,
    "lead.mql": _on_lead_mql,
    "activity.logged": _on_activity,
    "task.completed": _on_task_completed,
    "deal.created": _on_deal_created,
}


@kith.hookimpl
async def kith_on_event(event: kith.Event, kith: kith.Kith) -> None:
    """Route leads created outside lead.capture, arm a new deal's follow-ups, re-arm them
    when an activity is logged or a deal's task is done, and complete a lead's contact task
    when someone calls, emails or meets them."""
    handler = HANDLERS.get(event.name)
    if handler is not None:
        await handler(event, kith)


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """The events this plugin emits (the event catalog, docs/events.md)."""
    return [
        kith.EventSpec(
            "lead.assigned", "lead", "a lead was given an owner (data.owner_id, data.rule)"
        ),
        kith.EventSpec("lead.qualified", "lead", "a lead was qualified"),
        kith.EventSpec("lead.disqualified", "lead", "a lead was disqualified (data.reason)"),
        kith.EventSpec(
            "lead.converted",
            "lead",
            "a lead became a contact, organization and deal (data: contact, deal)",
        ),
        kith.EventSpec(
            "lead.contact_overdue", "lead", "a lead's owner has not contacted it in time"
        ),
        kith.EventSpec("deal.reopened", "deal", "a won or lost deal was reopened"),
        kith.EventSpec("deal.rotting", "deal", "a deal stayed too long in its stage"),
        kith.EventSpec(
            "pipeline.stages_reordered", "pipeline", "a pipeline's stages were reordered"
        ),
        kith.EventSpec("routing_rule.created", "routing_rule", "a lead routing rule was added"),
        kith.EventSpec("routing_rule.updated", "routing_rule", "a lead routing rule changed"),
        kith.EventSpec("routing_rule.deleted", "routing_rule", "a lead routing rule was deleted"),
        kith.EventSpec(
            "routing_member.updated",
            "user",
            "a salesperson's routing settings changed (capacity, away)",
        ),
    ]
