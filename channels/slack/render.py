"""Answers as Slack Block Kit: a record with its link, a list, an error with the syntax."""

from __future__ import annotations

import json
from typing import Any

import kith

ADMIN_PATHS = {
    "contact": "contacts",
    "organization": "organizations",
    "deal": "deals",
    "lead": "leads",
    "ticket": "tickets",
    "task": "tasks",
    "activity": "activities",
}
MAX_TEXT = 2900  # Slack's section text limit is 3000


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def escape(text: Any) -> str:
    """Slack's mrkdwn escapes: user text never becomes a mention or a link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _data(result: Any) -> dict[str, Any]:
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return result if isinstance(result, dict) else {"result": result}


def record_label(data: dict[str, Any]) -> str:
    for key in ("title", "name", "subject", "email"):
        if data.get(key):
            return escape(data[key])
    return f"#{data.get('id', '?')}"


def link(public_url: str, entity: str, record_id: Any, text: str) -> str:
    path = ADMIN_PATHS.get(entity)
    if not path or record_id is None:
        return text
    return f"<{public_url.rstrip('/')}/admin/{path}/{record_id}|{text}>"


FACTS = (
    "stage",
    "status",
    "priority",
    "value",
    "currency",
    "kind",
    "duration_seconds",
    "due_at",
    "email",
    "assignee_id",
)
DONE = {
    "create": "Created",
    "capture": "Captured",
    "move": "Moved",
    "won": "Won",
    "lost": "Lost",
    "log": "Logged",
    "assign": "Assigned",
    "set_status": "Updated",
    "comment": "Commented on",
    "get": "",
}


def record(
    command: str, result: Any, public_url: str, extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    data = {**(extra or {}), **_data(result)}
    note = data.get("message") if isinstance(data.get("message"), str) else None
    if "id" not in data:  # a result wrapping its record (lead.capture → {"lead": …})
        inner = next((v for v in data.values() if isinstance(v, dict) and "id" in v), None)
        if inner is not None:
            data = {**(extra or {}), **inner}
    entity, _, action = command.partition(".")
    verb = DONE.get(action, "Done:")
    label = link(public_url, entity, data.get("id"), f"{entity} #{data.get('id')}")
    lines = [f"{verb} {label}: *{record_label(data)}*".strip()]
    facts = []
    for key in FACTS:
        value = data.get(key)
        if value not in (None, "", [], {}) and not isinstance(value, dict | list):
            facts.append(f"{key.replace('_', ' ')}: {escape(value)}")
    if facts:
        lines.append(" · ".join(facts[:6]))
    if note:
        lines.append(escape(note))
    if data.get("body") and entity == "activity":
        lines.append(f"> {escape(data['body'])[:300]}")
    return [section("\n".join(lines))]


def hits(result: Any, public_url: str) -> list[dict[str, Any]]:
    items = _data(result).get("items") or []
    if not items:
        return [section("Nothing found.")]
    lines = [
        f"• {link(public_url, h.get('entity', ''), h.get('id'), escape(h.get('label', '')))}"
        f" — {h.get('entity')}" + (f" ({escape(h['detail'])})" if h.get("detail") else "")
        for h in items[:15]
    ]
    return [section("\n".join(lines))]


def pipeline(result: Any) -> list[dict[str, Any]]:
    data = _data(result)
    stages = " → ".join(
        f"{escape(s['name'])} ({s['probability']} %)" for s in data.get("stages", [])
    )
    return [section(f"*{escape(data.get('name'))}*\n{stages}")]


def forecast(result: Any) -> list[dict[str, Any]]:
    data = _data(result)
    lines = ["*Forecast*"]
    for key in ("period", "start", "end", "currency", "weighted", "total", "won", "open"):
        if data.get(key) not in (None, "", {}, []):
            lines.append(f"{key}: {escape(data[key])}")
    for row in (data.get("months") or data.get("rows") or [])[:12]:
        if isinstance(row, dict):
            lines.append(" · ".join(f"{k}: {escape(v)}" for k, v in list(row.items())[:5]))
    return [section("\n".join(lines))]


def error(err: kith.KithError, invocation: kith.Invocation | None = None) -> list[dict[str, Any]]:
    """The reason, each field, and (for an ambiguous reference) buttons to choose."""
    lines = [f":warning: {escape(err.message)}"]
    for f in err.fields or []:
        if f.field not in err.message:
            lines.append(f"• `{escape(f.field)}`: {escape(f.message)}")
    blocks: list[dict[str, Any]] = [section("\n".join(lines))]
    if err.code == "ambiguous" and err.candidates and invocation is not None and err.fields:
        field = err.fields[0].field
        buttons = []
        for c in err.candidates[:5]:
            value = {"c": invocation.command, "p": {**invocation.payload, field: c["id"]}}
            encoded = json.dumps(value, separators=(",", ":"))
            if len(encoded) > 2000:  # Slack's limit for a button value
                continue
            buttons.append(
                {
                    "type": "button",
                    "action_id": f"kith_pick_{c['id']}",
                    "text": {"type": "plain_text", "text": str(c["label"])[:70]},
                    "value": encoded,
                }
            )
        if buttons:
            blocks.append({"type": "actions", "block_id": "kith_pick", "elements": buttons})
    return blocks


def plain(blocks: list[dict[str, Any]]) -> str:
    """The text fallback Slack shows in notifications."""
    return next((b["text"]["text"] for b in blocks if b.get("type") == "section"), "")[:300]
