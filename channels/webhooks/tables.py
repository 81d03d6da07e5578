"""The webhooks plugin's tables: subscriptions and their deliveries (the delivery log)."""

from __future__ import annotations

from piccolo.columns import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class WebhookSubscription(Table, tablename="webhook_subscriptions"):
    url = Text()
    description = Text(default="")
    events = JSON(default="[]")  # names or patterns: "deal.won", "deal.*", "*"
    secret = Text(default="")  # encrypted (Fernet, key derived from the secret key)
    active = Boolean(default=True)
    disabled_reason = Text(null=True, default=None)
    consecutive_failures = Integer(default=0)
    archived_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    subscription_id = Integer(index=True)
    uid = Varchar(length=32, unique=True)  # X-Kith-Delivery
    dedupe_key = Varchar(length=100, null=True, default=None, unique=True)
    event_id = Varchar(length=64, index=True)
    event_name = Varchar(length=100)
    body = Text()  # the exact JSON that is signed and sent
    status = Varchar(length=20, index=True)  # pending | delivered | failed
    attempts = Integer(default=0)
    log = JSON(default="[]")  # one entry per attempt: at, status, error, ms
    resent_from = Integer(null=True, default=None)
    next_attempt_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


WEBHOOK_TABLES = [WebhookSubscription, WebhookDelivery]
