"""The event catalog (docs/events.md, webhooks, automations) is complete: every event name
the code emits is declared by the core or by the plugin that emits it."""

from __future__ import annotations

import ast
from pathlib import Path

import kith
from kith.settings import PluginsFile, Settings

ROOT = Path(__file__).resolve().parents[2]

# Names built at run time, with every value they take (reviewed by hand: add here when you
# add an emit with a computed name).
COMPUTED = {
    "core/tags.py": {"tag.added", "tag.removed"},
    "core/entities/_common.py": {
        f"{e}.{verb}"
        for e in ("contact", "organization", "deal", "lead", "ticket", "task", "activity")
        for verb in ("created", "updated", "archived", "restored")
        if (e, verb) != ("activity", "created")  # activities are logged: activity.logged
    },
    "core/dataio/duplicate_commands.py": {
        "contact.duplicate_suspected",
        "organization.duplicate_suspected",
    },
    "core/dataio/merge.py": {
        f"{e}.{verb}"
        for e in ("contact", "organization", "deal")
        for verb in ("merged", "unmerged")
    },
    "plugins/service/commands/calendars.py": {
        "calendar.holiday_added",
        "calendar.holiday_removed",
    },
    "plugins/sales/commands/deals.py": {
        "deal.won",
        "deal.lost",
        "deal.stage_changed",
        "deal.reopened",
    },
    "channels/webhooks/commands.py": {"webhook.disabled", "webhook.enabled"},
    "plugins/marketing/consent.py": {"consent.granted", "consent.withdrawn", "consent.requested"},
    "core/automations/actions.py": set(),  # actions emit what their `emits=` declares
}


def emitted_names() -> tuple[dict[str, str], dict[str, str]]:
    """(literal name → where, computed expression → where) of every ``.emit(...)`` call."""
    literal: dict[str, str] = {}
    computed: dict[str, str] = {}
    for folder in ("core", "plugins", "channels"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "piccolo_migrations" in path.parts:
                continue
            where = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "emit"
                    and node.args
                ):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    literal.setdefault(first.value, f"{where}:{node.lineno}")
                else:
                    computed.setdefault(ast.unparse(first), where)
    return literal, computed


def catalog() -> set[str]:
    app = kith.Kith(Settings(database_url="sqlite:///:memory:"), plugins_file=PluginsFile())
    return set(kith.known_events(app))


def test_every_emitted_event_name_is_declared() -> None:
    literal, _ = emitted_names()
    known = catalog()
    missing = sorted(f"{name} ({where})" for name, where in literal.items() if name not in known)
    assert missing == [], "declare these in a kith_events hook:\n" + "\n".join(missing)


def test_every_computed_event_name_is_reviewed_and_declared() -> None:
    _, computed = emitted_names()
    unreviewed = sorted(
        f"{expr} ({where})" for expr, where in computed.items() if where not in COMPUTED
    )
    assert unreviewed == [], "list the names these emits build in COMPUTED:\n" + "\n".join(
        unreviewed
    )
    known = catalog()
    missing = sorted(name for names in COMPUTED.values() for name in names if name not in known)
    assert missing == []


def test_automation_actions_only_emit_declared_events() -> None:
    app = kith.Kith(Settings(database_url="sqlite:///:memory:"), plugins_file=PluginsFile())
    known = set(kith.known_events(app))
    for _, action in app.hooks.automation_actions():
        if callable(action.emits):
            continue
        assert set(action.emits) <= known | {"{entity}.updated"}, action.name
