"""The plugin's table: a subscription of an organization, and its renewal deal."""

from __future__ import annotations

from piccolo.columns import Date, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Subscription(Table, tablename="renewals_subscriptions"):
    organization_id = Integer(index=True)
    plan = Varchar(length=100)
    amount_minor = Integer(default=0)  # yearly value in minor units (cents)
    currency = Varchar(length=3, default="EUR")
    ends_on = Date(index=True)
    renewal_deal_id = Integer(null=True, default=None)
    at_risk = Integer(default=0)  # 1 when flagged
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


TABLES = [Subscription]
