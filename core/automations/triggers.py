"""The events automations can start from: declared, so a typo is refused at definition time.

The core declares the events of its generic commands (``<entity>.created|updated|archived|
restored`` for every entity with those commands), the few it emits itself, and the events the
pillars emit on core records (``deal.stage_changed``…). Plugins declare theirs with
``kith_automation_triggers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runtime import Kith


@dataclass(frozen=True)
class TriggerSpec:
    """An event automations may start from: its name, the entity its record belongs to (or
    ``None`` when it is about no record), and what it means."""

    event: str
    entity: str | None
    description: str = ""
    plugin: str | None = None


VERBS = {
    "create": ("created", "a {entity} was created"),
    "update": ("updated", "fields of a {entity} changed (data.changes: field → [before, after])"),
    "archive": ("archived", "a {entity} was archived"),
    "restore": ("restored", "a {entity} was restored"),
}

CORE_EVENTS = [
    TriggerSpec("activity.logged", "activity", "a call, email, meeting or note was logged"),
    TriggerSpec("task.completed", "task", "a task was marked done"),
    TriggerSpec(
        "deal.stage_changed",
        "deal",
        "a deal moved to another stage (emitted by the plugin that moves deals, e.g. sales; "
        "data.changes.stage_id = [before, after])",
    ),
    TriggerSpec("deal.won", "deal", "a deal was won (emitted by e.g. the sales plugin)"),
    TriggerSpec("deal.lost", "deal", "a deal was lost (emitted by e.g. the sales plugin)"),
    TriggerSpec(
        "ticket.sla_breached", "ticket", "a ticket missed an SLA target (emitted by e.g. service)"
    ),
    TriggerSpec(
        "automation.slack_post_requested",
        None,
        "an automation asked to post to Slack (data: channel, text)",
    ),
]


def known_events(kith: Kith) -> dict[str, TriggerSpec]:
    """Every event automations may start from, by name."""
    out: dict[str, TriggerSpec] = {}
    for spec in kith.registry:
        noun, _, verb = spec.name.partition(".")
        if verb in VERBS:
            past, text = VERBS[verb]
            name = f"{noun}.{past}"
            out.setdefault(name, TriggerSpec(name, noun, text.format(entity=noun), spec.plugin))
    for trigger in CORE_EVENTS:
        out.setdefault(trigger.event, trigger)
    for plugin, trigger in kith.hooks.automation_triggers():
        out[trigger.event] = (
            trigger if trigger.plugin else TriggerSpec(**{**trigger.__dict__, "plugin": plugin})
        )
    return out
