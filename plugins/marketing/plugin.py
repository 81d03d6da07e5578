"""The marketing plugin's hook implementations, through public hooks only.

* ``kith_settings_model`` — ``[plugins.marketing]`` (:mod:`.settings`);
* ``kith_tables`` — forms, submissions, consent, suppressions;
* ``kith_commands`` — ``form.*``, ``consent.*``, ``suppression.add``, ``marketing.send``,
  ``contact.export``;
* ``kith_routes`` — the public form, opt-in and unsubscribe pages (:mod:`.web`);
* ``kith_events`` — what it emits.
"""

from __future__ import annotations

from typing import Any

import kith
from pydantic import BaseModel

from . import consent, forms, mail, privacy
from .settings import MarketingSettings


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.marketing]`` in plugins.toml."""
    return MarketingSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """Forms, submissions, consent and suppressions."""
    return ["kith.plugins.marketing.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """Forms, consent, the gated send and a person's data."""
    return kith.commands_in(forms, consent, mail, privacy)


@kith.hookimpl
def kith_routes(kith: kith.Kith) -> list[Any]:
    """``/f/<slug>``, ``/m/confirm/<token>``, ``/m/unsubscribe/<token>``."""
    from .web import build_router

    return build_router(kith)


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """The events this plugin emits (the event catalog, docs/events.md)."""
    return [
        kith.EventSpec(
            "form.submitted",
            "contact",
            "someone sent a web form (data: form, lead, consents, attribution)",
        ),
        kith.EventSpec("form.archived", "form", "a form stopped taking submissions"),
        kith.EventSpec(
            "consent.granted", "contact", "a contact gave consent (data: purpose, source)"
        ),
        kith.EventSpec(
            "consent.requested",
            "contact",
            "a contact asked for something that needs opt-in confirmation",
        ),
        kith.EventSpec("consent.withdrawn", "contact", "a contact withdrew consent (unsubscribed)"),
        kith.EventSpec("suppression.added", None, "an address will get no more marketing mail"),
        kith.EventSpec(
            "marketing.email_sent", "contact", "a marketing email passed the consent gate"
        ),
        kith.EventSpec(
            "contact.exported", "contact", "everything held about a contact was exported"
        ),
    ]
