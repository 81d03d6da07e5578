"""Modals: a ``/kith`` line that is not enough (``/kith lead Ada``, ``/kith task``) opens a
form pre-filled with what was typed. Its submission becomes the same command the line
would have run; a field the command refuses is marked on the form itself.

Each :class:`Form` knows how to read the typed words into fields (``prefill``) and the
fields into an :class:`kith.Invocation` (``invocation``). Only verbs with a form open one;
other incomplete lines answer with the error and the syntax, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kith

CALLBACK_PREFIX = "kith_form:"
DURATION_WORDS = ("s", "m", "min", "h")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    optional: bool = False
    multiline: bool = False
    hint: str = ""


@dataclass(frozen=True)
class Form:
    name: str
    title: str
    fields: tuple[Field, ...]
    prefill: Callable[[list[str]], dict[str, str]]
    invocation: Callable[[dict[str, str], kith.VerbContext], kith.Invocation]
    # a command's field name → the form field that holds it
    aliases: tuple[tuple[str, str], ...] = ()

    def block_for(self, field_name: str) -> str:
        keys = {f.key for f in self.fields}
        name = field_name.split(".")[0]
        name = dict(self.aliases).get(name, name)
        return name if name in keys else self.fields[0].key


def _email_at(words: list[str]) -> int | None:
    return next((i for i, w in enumerate(words) if "@" in w and not w.startswith("#")), None)


def _lead_prefill(words: list[str]) -> dict[str, str]:
    at = _email_at(words)
    sources = [w[1:] for w in words if w.startswith("#") and len(w) > 1]
    plain = [w for w in words if not w.startswith("#")]
    if at is None:
        return {"name": " ".join(plain), "source": sources[0] if sources else ""}
    after = [w for w in words[at + 1 :] if not w.startswith("#")]
    return {
        "name": " ".join(w for w in words[:at] if not w.startswith("#")),
        "email": words[at],
        "company": " ".join(after),
        "source": sources[0] if sources else "",
    }


def _lead(values: dict[str, str], context: kith.VerbContext) -> kith.Invocation:
    payload = {"name": values.get("name", ""), "email": values.get("email", "")}
    for key in ("company", "source"):
        if values.get(key):
            payload[key] = values[key].lstrip("#") if key == "source" else values[key]
    return kith.Invocation("lead.capture", payload)


def _task_prefill(words: list[str]) -> dict[str, str]:
    lowered = [w.lower() for w in words]
    if "due" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("due")
        return {"title": " ".join(words[:at]), "due": " ".join(words[at + 1 :])}
    return {"title": " ".join(words)}


def _task(values: dict[str, str], context: kith.VerbContext) -> kith.Invocation:
    payload: dict[str, Any] = {"title": values.get("title", "")}
    if values.get("due"):
        try:
            when = kith.parse_when(values["due"], context.now, context.time_zone)
        except kith.WhenError as exc:
            raise kith.invalid("due", str(exc)) from exc
        payload["due"] = when.isoformat()
    return kith.Invocation("task.create", payload)


def _activity_prefill(kind: str) -> Callable[[list[str]], dict[str, str]]:
    def prefill(words: list[str]) -> dict[str, str]:
        values = {"record": words[0] if words else ""}
        body = words[1:]
        if kind == "call" and len(body) > 1 and body[-1][:1].isdigit():
            values["duration"] = body[-1]
            body = body[:-1]
        values["notes"] = " ".join(body)
        return values

    return prefill


def _activity(kind: str) -> Callable[[dict[str, str], kith.VerbContext], kith.Invocation]:
    def invocation(values: dict[str, str], context: kith.VerbContext) -> kith.Invocation:
        ref = values.get("record", "").strip()
        if not ref:
            raise kith.invalid("record", "is missing: a contact (email or name) or deal:<ref>")
        payload: dict[str, Any] = {"kind": kind, "body": values.get("notes", "")}
        if values.get("duration"):
            payload["duration"] = values["duration"].strip().lower()
        entity, target = kith.record_ref(ref)
        fallbacks = [] if entity != "contact" or ":" in ref else [{**payload, "deal": target}]
        return kith.Invocation("activity.log", {**payload, entity: target}, fallbacks)

    return invocation


def _deal_prefill(words: list[str]) -> dict[str, str]:
    values = {"title": words[0] if words else ""}
    rest = words[1:]
    if rest and rest[0].replace(",", "").replace(".", "").isdigit():
        values["value"] = rest.pop(0)
        if rest and len(rest[0]) == 3 and rest[0].isalpha():
            values["currency"] = rest.pop(0).upper()
    values["organization"] = " ".join(rest)
    return values


def _deal(values: dict[str, str], context: kith.VerbContext) -> kith.Invocation:
    payload: dict[str, Any] = {"title": values.get("title", "")}
    if values.get("value"):
        payload["value"] = values["value"].replace(",", "").strip()
    for key in ("currency", "organization"):
        if values.get(key):
            payload[key] = values[key].strip().upper() if key == "currency" else values[key]
    return kith.Invocation("deal.create", payload)


def _ticket_prefill(words: list[str]) -> dict[str, str]:
    at = _email_at(words)
    if at is None:
        return {"subject": " ".join(words)}
    return {"requester": words[at], "subject": " ".join(words[:at] + words[at + 1 :])}


def _ticket(values: dict[str, str], context: kith.VerbContext) -> kith.Invocation:
    payload = {
        "requester": values.get("requester", ""),
        "subject": values.get("subject", ""),
        "channel": "slack",
    }
    if values.get("body"):
        payload["body"] = values["body"]
    return kith.Invocation("ticket.create", payload)


FORMS: dict[str, Form] = {
    "lead": Form(
        "lead",
        "New lead",
        (
            Field("name", "Name"),
            Field("email", "Email"),
            Field("company", "Company", optional=True),
            Field("source", "Source", optional=True, hint="e.g. webinar, referral"),
        ),
        _lead_prefill,
        _lead,
    ),
    "task": Form(
        "task",
        "New task",
        (
            Field("title", "What"),
            Field("due", "Due", optional=True, hint="tomorrow 9am, fri, in 3 days, 2026-12-01"),
        ),
        _task_prefill,
        _task,
    ),
    "call": Form(
        "call",
        "Log a call",
        (
            Field("record", "With", hint="a contact's email or name, or deal:<number or title>"),
            Field("notes", "Notes", multiline=True),
            Field("duration", "Duration", optional=True, hint="20m, 1h30m"),
        ),
        _activity_prefill("call"),
        _activity("call"),
        (("contact", "record"), ("deal", "record"), ("body", "notes")),
    ),
    "note": Form(
        "note",
        "Add a note",
        (
            Field("record", "On", hint="a contact's email or name, deal:<ref>, ticket:<number>"),
            Field("notes", "Note", multiline=True),
        ),
        _activity_prefill("note"),
        _activity("note"),
        (("contact", "record"), ("deal", "record"), ("ticket", "record"), ("body", "notes")),
    ),
    "deal new": Form(
        "deal new",
        "New deal",
        (
            Field("title", "Title"),
            Field("value", "Value", optional=True, hint="12000 or 12,000.50"),
            Field("currency", "Currency", optional=True, hint="EUR, USD…"),
            Field("organization", "Organization", optional=True),
        ),
        _deal_prefill,
        _deal,
    ),
    "ticket new": Form(
        "ticket new",
        "New ticket",
        (
            Field("requester", "Customer's email"),
            Field("subject", "Subject"),
            Field("body", "Details", optional=True, multiline=True),
        ),
        _ticket_prefill,
        _ticket,
    ),
}


def form_for(words: list[str]) -> tuple[Form, list[str]] | None:
    """The form for a typed line's verb, and the words after the verb, if it has one."""
    if not words:
        return None
    verb = words[0].lower()
    if verb in ("deal", "ticket"):
        if len(words) < 2 or words[1].lower() != "new":
            return None
        return FORMS[f"{verb} new"], words[2:]
    form = FORMS.get(verb)
    return (form, words[1:]) if form else None


def view(form: Form, values: dict[str, str], metadata: dict[str, Any], note: str = "") -> dict:
    """The ``views.open`` payload for ``form`` pre-filled with ``values``."""
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note[:2000]}]})
    for f in form.fields:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": f.multiline,
        }
        if values.get(f.key):
            element["initial_value"] = values[f.key][:3000]
        block: dict[str, Any] = {
            "type": "input",
            "block_id": f.key,
            "optional": f.optional,
            "label": {"type": "plain_text", "text": f.label},
            "element": element,
        }
        if f.hint:
            block["hint"] = {"type": "plain_text", "text": f.hint}
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": CALLBACK_PREFIX + form.name,
        "title": {"type": "plain_text", "text": form.title},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata, separators=(",", ":"))[:3000],
        "blocks": blocks,
    }


def submitted_values(view_state: dict[str, Any]) -> dict[str, str]:
    """The text of each field of a submitted view (``view.state.values``)."""
    values: dict[str, str] = {}
    for block_id, actions in (view_state.get("values") or {}).items():
        value = (actions.get("value") or {}).get("value")
        values[str(block_id)] = str(value).strip() if value is not None else ""
    return values


def field_errors(form: Form, err: kith.KithError) -> dict[str, str]:
    """A command's refusal as Slack's ``response_action: errors`` (block id → reason)."""
    errors: dict[str, str] = {}
    for field_error in err.fields or []:
        errors.setdefault(form.block_for(field_error.field), field_error.message[:150])
    if not errors:
        errors[form.fields[0].key] = err.message[:150]
    return errors
