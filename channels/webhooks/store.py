"""Reading subscriptions and deliveries: the cached list event dispatch checks, committed
reads for the delivery job (which calls out before it writes), and the output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import kith
from pydantic import BaseModel

from .tables import WebhookDelivery, WebhookSubscription

if TYPE_CHECKING:
    from piccolo.table import Table


class WebhookOut(BaseModel):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    disabled_reason: str | None
    consecutive_failures: int
    archived: bool
    created_at: datetime


class DeliveryOut(BaseModel):
    id: int
    webhook: int
    delivery: str
    event_id: str
    event: str
    status: str
    attempts: int
    log: list[dict[str, Any]]
    resent_from: int | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def webhook_out(row: dict[str, Any]) -> WebhookOut:
    return WebhookOut(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        events=list(row["events"] or []),
        active=bool(row["active"]),
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
        archived=row["archived_at"] is not None,
        created_at=row["created_at"],
    )


def delivery_out(row: dict[str, Any]) -> DeliveryOut:
    return DeliveryOut(
        id=row["id"],
        webhook=row["subscription_id"],
        delivery=row["uid"],
        event_id=row["event_id"],
        event=row["event_name"],
        status=row["status"],
        attempts=row["attempts"],
        log=list(row["log"] or []),
        resent_from=row["resent_from"],
        next_attempt_at=row["next_attempt_at"],
        delivered_at=row["delivered_at"],
        created_at=row["created_at"],
    )


async def _load_active(app: kith.Kith, fetch: Any) -> list[tuple[int, tuple[str, ...]]]:
    st = app.db.statements
    codec = st.codec(WebhookSubscription)
    sql = st.select_where(WebhookSubscription, ["active"])
    rows = [codec.decode(r) for r in await fetch(sql, [codec.encode("active", True)])]
    return [(r["id"], tuple(r["events"] or [])) for r in rows if r["archived_at"] is None]


# (id, patterns) of the active subscriptions: checked for every event, so cached (5 s, and
# reloaded at once after a webhook command of this process commits)
ACTIVE = kith.KithCache("webhooks.active", _load_active)


async def committed(app: kith.Kith, table: type[Table], row_id: int) -> dict[str, Any] | None:
    """A row as committed, read outside any transaction."""
    st = app.db.statements
    codec = st.codec(table)
    rows = await app.db.fetch(st.select_where(table, ["id"]), [row_id])
    return codec.decode(rows[0]) if rows else None


async def subscription(ctx: kith.Context, ref: int, field: str = "webhook") -> dict[str, Any]:
    row = await ctx.find_one(WebhookSubscription, id=ref)
    if row is None:
        raise kith.not_found("webhook", ref, field)
    return row


async def delivery(ctx: kith.Context, ref: int, field: str = "delivery") -> dict[str, Any]:
    row = await ctx.find_one(WebhookDelivery, id=ref)
    if row is None:
        raise kith.not_found("webhook delivery", ref, field)
    return row
