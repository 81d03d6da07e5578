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


# The catalog's entry type: an event, the entity its record belongs to, what it means.
EventSpec = TriggerSpec

VERBS = {
    "create": ("created", "{a} {entity} was created"),
    "update": ("updated", "fields of {a} {entity} changed (data.changes: field → [before, after])"),
    "archive": ("archived", "{a} {entity} was archived"),
    "restore": ("restored", "{a} {entity} was restored"),
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
    TriggerSpec("automation.enabled", "automation", "an automation was switched on"),
    TriggerSpec(
        "automation.disabled",
        "automation",
        "an automation was switched off (by someone, or by Kith after a loop)",
    ),
    TriggerSpec("custom_field.defined", "custom_field", "a custom field was defined"),
    TriggerSpec(
        "setting.changed", "setting", "a stored setting changed (data: key, before, after)"
    ),
    TriggerSpec("token.revoked", "token", "an API token was revoked"),
    TriggerSpec(
        "tag.added", None, "a tag was put on a record (entity/entity_id: the record; data.tag)"
    ),
    TriggerSpec("tag.removed", None, "a tag was taken off a record (data.tag)"),
    TriggerSpec(
        "contact.duplicate_suspected", "contact", "a contact looks like others (data.candidates)"
    ),
    TriggerSpec(
        "organization.duplicate_suspected",
        "organization",
        "an organization looks like others (data.candidates)",
    ),
    TriggerSpec(
        "duplicates.found", None, "a duplicate scan found new pairs (data: new, total, pairs)"
    ),
    TriggerSpec("duplicates.dismissed", None, "a pair was marked as not duplicates"),
    TriggerSpec(
        "contact.merged", "contact", "two contacts were merged into this one (data: loser)"
    ),
    TriggerSpec(
        "organization.merged", "organization", "two organizations were merged into this one"
    ),
    TriggerSpec("deal.merged", "deal", "two deals were merged into this one"),
    TriggerSpec("contact.unmerged", "contact", "a merge of contacts was undone"),
    TriggerSpec("organization.unmerged", "organization", "a merge of organizations was undone"),
    TriggerSpec("deal.unmerged", "deal", "a merge of deals was undone"),
    TriggerSpec(
        "contact.erased", "contact", "a person was erased (GDPR); the record is a tombstone"
    ),
    TriggerSpec("import.started", "import", "an import began (data: entity, rows)"),
    TriggerSpec(
        "import.completed", "import", "an import finished (data: created, updated, failed)"
    ),
    TriggerSpec("import.failed", "import", "an import stopped on an error"),
    TriggerSpec("import.cancelled", "import", "an import was cancelled"),
    TriggerSpec(
        "automation.slack_post_requested",
        None,
        "an automation asked to post to Slack (data: channel, text)",
    ),
]


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def known_events(kith: Kith) -> dict[str, TriggerSpec]:
    """Every event automations may start from, by name."""
    out: dict[str, TriggerSpec] = {}
    for spec in kith.registry:
        noun, _, verb = spec.name.partition(".")
        if verb in VERBS:
            past, text = VERBS[verb]
            name = f"{noun}.{past}"
            out.setdefault(
                name,
                TriggerSpec(
                    name,
                    noun,
                    text.format(entity=noun.replace("_", " "), a=_article(noun)),
                    spec.plugin,
                ),
            )
    for trigger in CORE_EVENTS:
        out.setdefault(trigger.event, trigger)
    for plugin, trigger in kith.hooks.automation_triggers():
        out[trigger.event] = (
            trigger if trigger.plugin else TriggerSpec(**{**trigger.__dict__, "plugin": plugin})
        )
    return out
