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

from . import consent, forms, mail, privacy, replies, scoring, segments, sequences
from .settings import MarketingSettings, marketing_settings


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
    return kith.commands_in(forms, consent, mail, privacy, sequences, segments, scoring)


@kith.hookimpl
def kith_automation_actions() -> list[kith.ActionSpec]:
    """``enroll_in_sequence``."""
    from .actions import ACTIONS

    return list(ACTIONS)


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """A sequence's next step; the segments' refresh every 15 minutes."""
    return [*sequences.JOBS, *segments.JOBS, *scoring.JOBS]


@kith.hookimpl
def kith_verbs() -> list[kith.Verb]:
    """``segment NAME``: how many people a segment holds (Slack, email commands)."""
    from .verbs import VERBS

    return list(VERBS)


@kith.hookimpl
def kith_inbound_email(local: str) -> Any:
    """``replies@``: a contact answered a sequence email."""
    if local == marketing_settings(kith.current()).replies_address:
        return replies.handle
    return None


@kith.hookimpl
async def kith_on_event(event: kith.Event, kith: kith.Kith) -> None:
    """A withdrawn consent stops the sequences that need it; a won deal stops its contact's
    sequences; events and lead changes feed lead scores."""
    from kith import SYSTEM

    await scoring.on_event(kith, event)
    if event.name == "consent.withdrawn" and event.entity_id is not None:
        await kith.run(
            "sequence.stop_for",
            {
                "contact": event.entity_id,
                "reason": "unsubscribed",
                "purpose": event.data.get("purpose"),
            },
            SYSTEM,
        )
    elif event.name == "deal.won" and event.entity_id is not None:
        deal = await kith.run("deal.get", {"deal": event.entity_id}, SYSTEM)
        contact = getattr(deal, "contact_id", None)
        if contact is not None:
            await kith.run("sequence.stop_for", {"contact": contact, "reason": "deal won"}, SYSTEM)


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
        kith.EventSpec("sequence.enrolled", "contact", "a contact was enrolled in a sequence"),
        kith.EventSpec(
            "sequence.stopped",
            "contact",
            "an enrollment stopped (data.reason: replied, unsubscribed, deal won…)",
        ),
        kith.EventSpec("sequence.completed", "contact", "a contact went through every step"),
        kith.EventSpec(
            "marketing.reply_received", "contact", "a contact answered a sequence email"
        ),
        kith.EventSpec(
            "lead.mql", "lead", "a lead's score reached the MQL threshold (data: score, threshold)"
        ),
        kith.EventSpec("segment.entered", "contact", "a contact entered a segment (data.segment)"),
        kith.EventSpec("segment.exited", "contact", "a contact left a segment (data.segment)"),
        kith.EventSpec(
            "segment.changed", "segment", "many contacts entered or left a segment at once"
        ),
    ]


@kith.hookimpl
async def kith_erase_contact(ctx: kith.Context, contact_id: int, addresses: list[str]) -> None:
    """Form submissions and consent proof of an erased person (the consent rows stay, without
    proof, so an unsubscribe is still honoured if the address comes back)."""
    from .tables import MarketingConsent, MarketingSubmission

    for row in await ctx.select(MarketingSubmission, contact_id=contact_id):
        await ctx.update(
            MarketingSubmission,
            row,
            {"data": {}, "attribution": {}, "ip": ""},
            record_history=False,
        )
    for row in await ctx.select(MarketingConsent, contact_id=contact_id):
        await ctx.update(MarketingConsent, row, {"proof": {}}, record_history=False)
