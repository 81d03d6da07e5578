"""Macros: saved replies with placeholders, rendered in jinja2's sandbox.

People write macro bodies, so they are rendered with ``SandboxedEnvironment`` (no access to
Python internals) and ``StrictUndefined`` (a misspelt placeholder is an error, never an
empty string in a customer's mail). A body is checked when the macro is saved, by rendering
it against a sample ticket.
"""

from __future__ import annotations

from typing import Any

import kith
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
MAX_OUTPUT = 100_000

SAMPLE: dict[str, Any] = {
    "ticket": {
        "id": 311,
        "subject": "Invoices page shows a 500 error",
        "priority": "normal",
        "status": "open",
        "type": None,
        "custom": {},
    },
    "requester": {"name": "Jane Roe", "first_name": "Jane", "email": "jane@initech.io"},
    "organization": {"name": "Initech", "domain": "initech.io"},
    "agent": {"name": "Chloé Martin", "first_name": "Chloé", "email": "chloe@example.com"},
}
PLACEHOLDERS = sorted(f"{k}.{f}" for k, v in SAMPLE.items() for f in v)


def render(body: str, context: dict[str, Any], field: str = "body") -> str:
    """Render ``body``; template errors become field errors a person can fix."""
    try:
        out = _ENV.from_string(body).render(**context)
    except TemplateError as exc:
        raise kith.invalid(
            field, f"{exc.message or exc} (placeholders: {', '.join(PLACEHOLDERS)})"
        ) from None
    if len(out) > MAX_OUTPUT:
        raise kith.invalid(field, f"renders to more than {MAX_OUTPUT} characters")
    return out


def check(body: str) -> None:
    """Refuse a body that would not render for a typical ticket."""
    render(body, SAMPLE)


def _first(name: str | None) -> str:
    return (name or "").split(" ")[0]


async def context_for(ctx: kith.Context, ticket: dict[str, Any]) -> dict[str, Any]:
    """The placeholders' values for ``ticket`` and the person applying the macro."""
    requester = (
        await ctx.find_one(kith.Contact, id=ticket["requester_id"])
        if ticket["requester_id"]
        else None
    )
    org = (
        await ctx.find_one(kith.Organization, id=ticket["organization_id"])
        if ticket["organization_id"]
        else None
    )
    agent = await ctx.find_one(kith.User, id=ctx.actor.user_id) if ctx.actor.user_id else None
    return {
        "ticket": {k: ticket[k] for k in SAMPLE["ticket"]},
        "requester": {
            "name": requester["name"] if requester else "",
            "first_name": _first(requester["name"]) if requester else "",
            "email": requester["email"] if requester else "",
        },
        "organization": {
            "name": org["name"] if org else "",
            "domain": org["domain"] if org else "",
        },
        "agent": {
            "name": agent["name"] if agent else ctx.actor.name,
            "first_name": _first(agent["name"] if agent else ctx.actor.name),
            "email": agent["email"] if agent else "",
        },
    }
