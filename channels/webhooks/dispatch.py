"""From event to deliveries: ``webhook.enqueue`` (run by the system for each event some
subscription wants), the delivery log (``webhook.deliveries``) and ``webhook.resend``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import kith
from pydantic import BaseModel, Field

from .patterns import matches
from .store import ACTIVE, DeliveryOut, delivery, delivery_out, subscription
from .tables import WebhookDelivery, WebhookSubscription

DELIVER_JOB = "webhooks.deliver"
MAX_BODY = 256_000


class Enqueue(kith.Input):
    event: dict[str, Any]
    subscriptions: list[int] = Field(min_length=1, max_length=1000)


class Enqueued(BaseModel):
    deliveries: list[int]


class DeliveriesIn(kith.Input):
    webhook: int | None = Field(None, description="Only this webhook's deliveries")
    status: str | None = Field(None, pattern="^(pending|delivered|failed|cancelled)$")
    event: str | None = Field(None, max_length=100, description="Only this event name")
    limit: int = Field(50, ge=1, le=500)


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]


class ResendIn(kith.Input):
    delivery: int


def body_of(event: dict[str, Any]) -> str:
    """The JSON sent for ``event``: compact, keys sorted, so the signature is reproducible."""
    body = json.dumps(event, separators=(",", ":"), sort_keys=True, default=str)
    if len(body) > MAX_BODY:  # a huge import summary, say: send the envelope without data
        body = json.dumps(
            {**event, "data": {"truncated": True}}, separators=(",", ":"), sort_keys=True
        )
    return body


async def enqueue_one(
    ctx: kith.Context,
    subscription_id: int,
    event: dict[str, Any],
    *,
    dedupe: bool = True,
    resent_from: int | None = None,
    body: str | None = None,
) -> int:
    """Add a delivery of ``event`` to one subscription and schedule its first attempt."""
    key = f"{subscription_id}:{event['id']}" if dedupe else None
    if key is not None:
        existing = await ctx.find_one(WebhookDelivery, dedupe_key=key)
        if existing is not None:  # the event was delivered to this handler before
            return existing["id"]
    row = await ctx.insert(
        WebhookDelivery,
        {
            "subscription_id": subscription_id,
            "uid": uuid.uuid4().hex,
            "dedupe_key": key,
            "event_id": str(event["id"]),
            "event_name": str(event["name"]),
            "body": body if body is not None else body_of(event),
            "status": "pending",
            "attempts": 0,
            "log": [],
            "resent_from": resent_from,
            "next_attempt_at": ctx.now(),
        },
        record_history=False,
    )
    await ctx.schedule(DELIVER_JOB, {"delivery": row["id"]})
    return row["id"]


@kith.command("webhook.enqueue", input=Enqueue, output=Enqueued, permission="webhooks.admin")
async def enqueue(ctx: kith.Context, data: Enqueue) -> Enqueued:
    """Queue deliveries of one event to the subscriptions that want it (the webhooks plugin
    runs this for each event; only the system may)."""
    if not ctx.actor.is_system:
        raise kith.forbidden("only Kith itself queues webhook deliveries")
    name = str(data.event.get("name", ""))
    if not name or "id" not in data.event:
        raise kith.invalid("event", "an event needs a name and an id")
    made = []
    for sub_id in data.subscriptions:
        row = await ctx.find_one(WebhookSubscription, id=sub_id)
        if row is None or not row["active"] or row["archived_at"] is not None:
            continue
        if matches(row["events"] or [], name):
            made.append(await enqueue_one(ctx, sub_id, data.event))
    return Enqueued(deliveries=made)


@kith.command(
    "webhook.deliveries",
    input=DeliveriesIn,
    output=DeliveriesOut,
    permission="webhooks.admin",
    read_only=True,
)
async def deliveries(ctx: kith.Context, data: DeliveriesIn) -> DeliveriesOut:
    """The delivery log, newest first: each attempt's time, HTTP status or error, duration."""
    filters: dict[str, Any] = {}
    if data.webhook is not None:
        await subscription(ctx, data.webhook)
        filters["subscription_id"] = data.webhook
    if data.status is not None:
        filters["status"] = data.status
    if data.event is not None:
        filters["event_name"] = data.event
    rows = await ctx.select(
        WebhookDelivery, order_by="id", descending=True, limit=data.limit, **filters
    )
    return DeliveriesOut(items=[delivery_out(r) for r in rows])


@kith.command("webhook.resend", input=ResendIn, output=DeliveryOut, permission="webhooks.admin")
async def resend(ctx: kith.Context, data: ResendIn) -> DeliveryOut:
    """Send a past delivery's event again (same body, new delivery id and signature)."""
    old = await delivery(ctx, data.delivery)
    sub = await subscription(ctx, old["subscription_id"])
    if not sub["active"] or sub["archived_at"] is not None:
        raise kith.invalid("delivery", f"webhook {sub['id']} is not active: enable it first")
    event = {"id": old["event_id"], "name": old["event_name"]}
    new_id = await enqueue_one(
        ctx, sub["id"], event, dedupe=False, resent_from=old["id"], body=old["body"]
    )
    ctx.record_history("webhook", sub["id"], "resent", {"delivery": [old["id"], new_id]})
    return delivery_out(await delivery(ctx, new_id))


async def dispatch(app: kith.Kith, event: kith.Event) -> None:
    """Queue ``event`` for the active subscriptions whose patterns want it."""
    wanted = [
        sid for sid, patterns in await ACTIVE.get_committed(app) if matches(patterns, event.name)
    ]
    if wanted:
        await app.run(
            "webhook.enqueue", {"event": event.as_dict(), "subscriptions": wanted}, kith.SYSTEM
        )
