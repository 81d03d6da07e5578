"""The webhooks plugin's hook implementations (bundled plugin ``webhooks``).

* ``kith_settings_model`` — ``[plugins.webhooks]`` (:mod:`.settings`);
* ``kith_tables`` — subscriptions and deliveries;
* ``kith_commands`` — ``webhook.create|update|list|get|disable|enable|delete|test``,
  ``webhook.deliveries``, ``webhook.resend`` and the system's ``webhook.enqueue``;
* ``kith_jobs`` — ``webhooks.deliver``;
* ``kith_on_event`` — every event some active subscription wants is queued for delivery;
* ``kith_events`` — the events it emits itself.
"""

from __future__ import annotations

import kith
from pydantic import BaseModel

from . import commands, dispatch
from .deliver import JOBS
from .settings import WebhookSettings


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.webhooks]`` in plugins.toml."""
    return WebhookSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """``webhook_subscriptions`` and ``webhook_deliveries``."""
    return ["kith.channels.webhooks.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """Subscription management, the delivery log and resend."""
    return kith.commands_in(commands, dispatch)


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """One attempt at one delivery."""
    return list(JOBS)


@kith.hookimpl
async def kith_on_event(event: kith.Event, kith: kith.Kith) -> None:
    """Queue the event for the active subscriptions that want it (none: no database work)."""
    await dispatch.dispatch(kith, event)


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """The events this plugin emits about webhooks."""
    return [
        kith.EventSpec(
            "webhook.disabled",
            "webhook",
            "a webhook was disabled (by someone, or by Kith after repeated failures: data.reason)",
        ),
        kith.EventSpec("webhook.enabled", "webhook", "a webhook was enabled again"),
        kith.EventSpec("webhook.deleted", "webhook", "a webhook was deleted"),
        kith.EventSpec("webhook.ping", "webhook", "a test event sent by webhook.test"),
    ]


@kith.hookimpl
async def kith_erase_contact(ctx: kith.Context, contact_id: int, addresses: list[str]) -> None:
    """Delivery payloads about an erased person (their events, or naming their address)."""
    from .tables import WebhookDelivery

    needles = [f'"entity":"contact","entity_id":{contact_id},', *addresses]
    find = "strpos" if ctx.kith.db.dialect == "postgres" else "instr"
    mark = ctx.kith.db.statements.placeholders(1)[0]
    sql = f'SELECT "id" FROM "webhook_deliveries" WHERE {find}("body", {mark}) > 0'  # noqa: S608
    ids = {r["id"] for needle in needles for r in await ctx.fetch(sql, [needle])}
    for delivery_id in sorted(ids):
        row = await ctx.find_one(WebhookDelivery, id=delivery_id)
        if row is not None:
            await ctx.update(
                WebhookDelivery, row, {"body": '{"erased":true}'}, record_history=False
            )
