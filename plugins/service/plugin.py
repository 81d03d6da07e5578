"""The service plugin's hook implementations: everything it adds, through public hooks.

* ``kith_settings_model`` — ``[plugins.service]`` (:mod:`.settings`);
* ``kith_tables`` — its piccolo app (:mod:`.tables`, migrations in ``piccolo_migrations/``);
* ``kith_commands`` — the ticket, routing, SLA, macro, CSAT and queue commands;
* ``kith_jobs`` — the SLA watch, auto-close and CSAT request (:mod:`.jobs`);
* ``kith_routes`` — the rating page CSAT links open (:mod:`.web`);
* ``kith_on_event`` — tickets made with the core's ``ticket.create`` enter service; archived
  tickets stop their SLA and restored ones resume.
"""

from __future__ import annotations

import logging
from typing import Any

import kith
from pydantic import BaseModel

from .commands import (
    calendars,
    conversation,
    csat,
    macros,
    policies,
    queues,
    relations,
    routing,
    workflow,
)
from .jobs import JOBS
from .settings import ServiceSettings

log = logging.getLogger("kith.plugins.service")


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.service]`` in plugins.toml."""
    return ServiceSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """The plugin's piccolo app (migrated after the core's)."""
    return ["kith.plugins.service.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """Every service command."""
    return kith.commands_in(
        conversation, workflow, relations, routing, calendars, policies, macros, csat, queues
    )


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """The SLA watch, auto-close and the CSAT request."""
    return list(JOBS)


@kith.hookimpl
def kith_routes(kith: kith.Kith) -> list[Any]:
    """The rating page CSAT links open: GET shows a form, its POST records the rating."""
    from .web import build_router

    return [build_router(kith)]


@kith.hookimpl
async def kith_on_event(event: kith.Event, kith: kith.Kith) -> None:
    """A ticket made with ``ticket.create`` enters service (routing, SLA clocks); an archived
    ticket's SLA stops and a restored one's resumes."""
    if event.entity != "ticket" or event.entity_id is None:
        return
    if event.name == "ticket.created":
        await kith.run("ticket.intake", {"ticket": event.entity_id}, _system())
    elif event.name in ("ticket.archived", "ticket.restored"):
        await kith.run("ticket.sla_refresh", {"ticket": event.entity_id}, _system())


def _system() -> kith.Actor:
    return kith.Actor(user_id=None, role="system", name="Service", via="service")


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """The events this plugin emits (the event catalog, docs/events.md)."""
    return [
        kith.EventSpec("ticket.assigned", "ticket", "a ticket was given to an agent or team"),
        kith.EventSpec(
            "ticket.status_changed", "ticket", "a ticket's status changed (data: before, after)"
        ),
        kith.EventSpec("ticket.priority_changed", "ticket", "a ticket's priority changed"),
        kith.EventSpec("ticket.replied", "ticket", "an agent replied to the customer"),
        kith.EventSpec("ticket.commented", "ticket", "an agent added an internal comment"),
        kith.EventSpec(
            "ticket.message_received", "ticket", "the customer wrote (by email or the API)"
        ),
        kith.EventSpec("ticket.tags_changed", "ticket", "a ticket's tags changed"),
        kith.EventSpec("ticket.ccs_changed", "ticket", "a ticket's CC list changed"),
        kith.EventSpec("ticket.linked", "ticket", "a ticket was linked to another"),
        kith.EventSpec("ticket.merged", "ticket", "a ticket was merged into another"),
        kith.EventSpec("ticket.sla_warning", "ticket", "an SLA target is close"),
        kith.EventSpec("ticket.escalated", "ticket", "a ticket was escalated (breach or rule)"),
        kith.EventSpec(
            "ticket.csat_requested", "ticket", "the customer was asked to rate the help"
        ),
        kith.EventSpec("ticket.csat_rated", "ticket", "the customer rated the help (data.rating)"),
        kith.EventSpec("agent.availability_changed", "user", "an agent became available or away"),
        kith.EventSpec("service_team.configured", "team", "a team's service settings changed"),
        kith.EventSpec(
            "calendar.holiday_added", "calendar", "a holiday was added to a business calendar"
        ),
        kith.EventSpec(
            "calendar.holiday_removed", "calendar", "a holiday was removed from a business calendar"
        ),
    ]


@kith.hookimpl
async def kith_erase_contact(ctx: kith.Context, contact_id: int, addresses: list[str]) -> None:
    """What an erased person wrote on tickets, and their CC entries."""
    from .tables import Cc, Message

    for row in await ctx.select(Message, author_contact_id=contact_id):
        await ctx.update(Message, row, {"body": "(erased)", "cc": []}, record_history=False)
    for row in await ctx.select(Cc, contact_id=contact_id):
        await ctx.update(Cc, row, {"email": "erased"}, record_history=False)
