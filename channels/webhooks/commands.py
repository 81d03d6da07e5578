"""Managing subscriptions: create, update, list, get, disable, enable, delete, test."""

from __future__ import annotations

import secrets as random_secrets
from typing import Any

import kith
from pydantic import BaseModel, Field

from . import crypto
from .patterns import unknown
from .settings import webhook_settings
from .store import ACTIVE, WebhookOut, subscription, webhook_out
from .tables import WebhookSubscription

PING = "webhook.ping"

Patterns = list[str]


class Create(kith.Input):
    url: str = Field(min_length=1, max_length=2000, description="Where events are POSTed")
    events: Patterns = Field(
        min_length=1,
        max_length=50,
        description="Event names or patterns: deal.won, deal.*, * (see docs/events.md)",
    )
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="Signing secret; Kith makes one (shown once) when you give none",
    )
    description: str = Field("", max_length=500)


class Created(WebhookOut):
    secret: str = Field(description="The signing secret: shown this once, stored encrypted")


class Update(kith.Input):
    webhook: int
    url: str | None = Field(None, min_length=1, max_length=2000)
    events: Patterns | None = Field(None, min_length=1, max_length=50)
    secret: str | None = Field(None, min_length=16, max_length=200)
    description: str | None = Field(None, max_length=500)


class Ref(kith.Input):
    webhook: int


class ListIn(kith.Input):
    include_inactive: bool = Field(False, description="Also disabled and deleted ones")


class ListOut(BaseModel):
    items: list[WebhookOut]


class TestOut(BaseModel):
    delivery: int


async def _check_url(ctx: kith.Context, url: str) -> str:
    url = url.strip()
    _, host, port = kith.check_url_syntax(url)
    await kith.resolve_public(
        host, port, allow_private=bool(ctx.kith.settings.webhooks_allow_private)
    )
    return url


def _check_events(ctx: kith.Context, patterns: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(p.strip() for p in patterns))
    for pattern in cleaned:
        if not pattern or len(pattern) > 100:
            raise kith.invalid("events", "each event is a name such as deal.won (1-100 chars)")
    known = {*kith.known_events(ctx.kith), PING}
    typos = unknown(cleaned, known)
    if typos:
        raise kith.invalid(
            "events",
            f"no event is called {', '.join(typos)} (see docs/events.md or `kith events`)",
            "unknown_event",
        )
    return cleaned


def _history_view(values: dict[str, Any]) -> dict[str, Any]:
    """What history shows of a change: never the secret, only that it changed."""
    return {k: ("(changed)" if k == "secret" else v) for k, v in values.items()}


@kith.command("webhook.create", input=Create, output=Created, permission="webhooks.admin")
async def create(ctx: kith.Context, data: Create) -> Created:
    """Subscribe a URL to events: each matching event is POSTed to it, signed with the
    secret (HMAC-SHA256 of ``<X-Kith-Timestamp>.<body>`` in ``X-Kith-Signature``)."""
    url = await _check_url(ctx, data.url)
    events = _check_events(ctx, data.events)
    settings = webhook_settings(ctx)
    active = await ctx.select(WebhookSubscription, active=True)
    if len(active) >= settings.max_subscriptions:
        raise kith.invalid(
            "url",
            f"there are already {len(active)} active webhooks (max_subscriptions): "
            "disable or delete one first",
            "too_many",
        )
    secret = data.secret or "whsec_" + random_secrets.token_urlsafe(32)
    values = {
        "url": url,
        "events": events,
        "secret": crypto.encrypt(ctx.kith, secret),
        "description": data.description,
        "active": True,
    }
    row = await ctx.insert(WebhookSubscription, values, record_history=False)
    ctx.record_history("webhook", row["id"], "created", _history_view(values))
    ctx.emit("webhook.created", "webhook", row["id"], url=url, events=events)
    ACTIVE.invalidate(ctx)
    return Created(**webhook_out(row).model_dump(), secret=secret)


@kith.command("webhook.update", input=Update, output=WebhookOut, permission="webhooks.admin")
async def update(ctx: kith.Context, data: Update) -> WebhookOut:
    """Change a webhook's URL, events, secret or description."""
    row = await subscription(ctx, data.webhook)
    changes: dict[str, Any] = {}
    if data.url is not None:
        changes["url"] = await _check_url(ctx, data.url)
    if data.events is not None:
        changes["events"] = _check_events(ctx, data.events)
    if data.description is not None:
        changes["description"] = data.description
    if data.secret is not None:
        changes["secret"] = crypto.encrypt(ctx.kith, data.secret)
    row, diff = await ctx.update(WebhookSubscription, row, changes, record_history=False)
    if diff:
        shown = {k: ["(secret)", "(changed)"] if k == "secret" else v for k, v in diff.items()}
        ctx.record_history("webhook", row["id"], "updated", shown)
        ctx.emit("webhook.updated", "webhook", row["id"], changes=shown)
        ACTIVE.invalidate(ctx)
    return webhook_out(row)


@kith.command(
    "webhook.list", input=ListIn, output=ListOut, permission="webhooks.admin", read_only=True
)
async def list_webhooks(ctx: kith.Context, data: ListIn) -> ListOut:
    """The webhooks: active ones, or all with ``include_inactive``."""
    rows = await ctx.select(WebhookSubscription, order_by="id")
    if not data.include_inactive:
        rows = [r for r in rows if r["active"] and r["archived_at"] is None]
    return ListOut(items=[webhook_out(r) for r in rows])


@kith.command(
    "webhook.get", input=Ref, output=WebhookOut, permission="webhooks.admin", read_only=True
)
async def get(ctx: kith.Context, data: Ref) -> WebhookOut:
    """One webhook (its secret is never shown again)."""
    return webhook_out(await subscription(ctx, data.webhook))


async def _set_active(
    ctx: kith.Context, data: Ref, active: bool, event: str, reason: str | None
) -> WebhookOut:
    row = await subscription(ctx, data.webhook)
    if row["archived_at"] is not None:
        raise kith.invalid("webhook", f"webhook {row['id']} was deleted", "deleted")
    changes: dict[str, Any] = {"active": active, "disabled_reason": reason}
    if active:
        changes["consecutive_failures"] = 0
    row, diff = await ctx.update(WebhookSubscription, row, changes, action=event.split(".")[1])
    if diff:
        ctx.emit(event, "webhook", row["id"], url=row["url"], reason=reason)
        ACTIVE.invalidate(ctx)
    return webhook_out(row)


@kith.command(
    "webhook.disable", input=Ref, output=WebhookOut, permission="webhooks.admin", idempotent=True
)
async def disable(ctx: kith.Context, data: Ref) -> WebhookOut:
    """Stop sending to a webhook (deliveries waiting for a retry are dropped)."""
    return await _set_active(ctx, data, False, "webhook.disabled", f"disabled by {ctx.actor.label}")


@kith.command(
    "webhook.enable", input=Ref, output=WebhookOut, permission="webhooks.admin", idempotent=True
)
async def enable(ctx: kith.Context, data: Ref) -> WebhookOut:
    """Send to a webhook again (its failure count starts over)."""
    return await _set_active(ctx, data, True, "webhook.enabled", None)


@kith.command(
    "webhook.delete", input=Ref, output=WebhookOut, permission="webhooks.admin", destructive=True
)
async def delete(ctx: kith.Context, data: Ref) -> WebhookOut:
    """Delete a webhook: nothing is sent to it any more. Its delivery log is kept."""
    row = await subscription(ctx, data.webhook)
    if row["archived_at"] is not None:
        return webhook_out(row)
    row, _ = await ctx.update(
        WebhookSubscription, row, {"archived_at": ctx.now(), "active": False}, action="deleted"
    )
    ctx.emit("webhook.deleted", "webhook", row["id"], url=row["url"])
    ACTIVE.invalidate(ctx)
    return webhook_out(row)


@kith.command("webhook.test", input=Ref, output=TestOut, permission="webhooks.admin")
async def test(ctx: kith.Context, data: Ref) -> TestOut:
    """Send a ``webhook.ping`` event to one webhook now (see the result in
    ``webhook.deliveries``)."""
    from .dispatch import enqueue_one

    row = await subscription(ctx, data.webhook)
    if not row["active"] or row["archived_at"] is not None:
        raise kith.invalid("webhook", f"webhook {row['id']} is not active: enable it first")
    event = kith.Event(
        name=PING,
        entity="webhook",
        entity_id=row["id"],
        actor=ctx.actor.label,
        at=ctx.now(),
        data={"message": "Kith says hello: this webhook works."},
    )
    delivery = await enqueue_one(ctx, row["id"], event.as_dict(), dedupe=False)
    return TestOut(delivery=delivery)
