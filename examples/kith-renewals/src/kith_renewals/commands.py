"""``subscription.create``, ``subscription.list`` and ``renewals.scan``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import kith
from pydantic import BaseModel, Field

from .settings import renewal_settings
from .tables import Subscription

HEALTH_FIELD = "health_score"


class SubscriptionIn(kith.Input):
    organization: int
    plan: str = Field(min_length=1, max_length=100)
    amount: Decimal = Field(ge=0, le=Decimal("100000000"), description="Yearly value")
    currency: str = Field("EUR", min_length=3, max_length=3)
    ends_on: date


class SubscriptionOut(BaseModel):
    id: int
    organization: int
    plan: str
    amount: str
    currency: str
    ends_on: date
    renewal_deal: int | None
    at_risk: bool


class ListIn(kith.Input):
    ending_within_days: int | None = Field(None, ge=0, le=3650)


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class ScanOut(BaseModel):
    opened: list[int]
    flagged: list[int]


def out(row: dict[str, Any]) -> SubscriptionOut:
    return SubscriptionOut(
        id=row["id"],
        organization=row["organization_id"],
        plan=row["plan"],
        amount=str(kith.to_major(row["amount_minor"], row["currency"])),
        currency=row["currency"],
        ends_on=row["ends_on"],
        renewal_deal=row["renewal_deal_id"],
        at_risk=bool(row["at_risk"]),
    )


@kith.command(
    "subscription.create", input=SubscriptionIn, output=SubscriptionOut, permission="deals.write"
)
async def create(ctx: kith.Context, data: SubscriptionIn) -> SubscriptionOut:
    """Record an organization's subscription: plan, yearly value, end date."""
    if await ctx.find_one(kith.Organization, id=data.organization) is None:
        raise kith.not_found("organization", data.organization, "organization")
    currency = kith.check_currency(data.currency)
    row = await ctx.insert(
        Subscription,
        {
            "organization_id": data.organization,
            "plan": data.plan,
            "amount_minor": kith.to_minor(data.amount, currency),
            "currency": currency,
            "ends_on": data.ends_on,
        },
    )
    ctx.emit("subscription.created", "organization", data.organization, subscription=row["id"])
    return out(row)


@kith.command(
    "subscription.list",
    input=ListIn,
    output=SubscriptionList,
    permission="deals.read",
    read_only=True,
)
async def list_subscriptions(ctx: kith.Context, data: ListIn) -> SubscriptionList:
    """Subscriptions by end date; ``ending_within_days`` keeps those ending soon."""
    rows = await ctx.select(Subscription, order_by="ends_on")
    if data.ending_within_days is not None:
        until = ctx.now().date() + timedelta(days=data.ending_within_days)
        rows = [r for r in rows if r["ends_on"] <= until]
    return SubscriptionList(items=[out(r) for r in rows])


async def _pipeline(ctx: kith.Context, name: str) -> str:
    found = await ctx.find_one(kith.Pipeline, name=name)
    if found is None:
        await ctx.run(
            "pipeline.create",
            {
                "name": name,
                "stages": [
                    {"name": "Up for renewal", "probability": 60},
                    {"name": "Negotiating", "probability": 80},
                    {"name": "Renewed", "probability": 100, "kind": "won"},
                    {"name": "Churned", "probability": 0, "kind": "lost"},
                ],
            },
        )
    return name


async def _health(ctx: kith.Context, organization_id: int) -> int | None:
    org = await ctx.find_one(kith.Organization, id=organization_id)
    value = (org or {}).get("custom", {}).get(HEALTH_FIELD) if org else None
    return int(value) if value is not None else None


@kith.command("renewals.scan", input=kith.Input, output=ScanOut, permission="deals.write")
async def scan(ctx: kith.Context, data: kith.Input) -> ScanOut:
    """Open a renewal deal for each subscription ending within ``lead_days``, and flag
    the ones whose organization's health score is under ``risk_below``."""
    settings = renewal_settings(ctx)
    until = ctx.now().date() + timedelta(days=settings.lead_days)
    opened, flagged = [], []
    for row in await ctx.select(Subscription, order_by="ends_on"):
        if row["ends_on"] > until:
            break
        if row["renewal_deal_id"] is None:
            org = await ctx.find_one(kith.Organization, id=row["organization_id"])
            deal = await ctx.run(
                "deal.create",
                {
                    "title": f"Renewal: {org['name'] if org else 'organization'} — {row['plan']}",
                    "value": str(kith.to_major(row["amount_minor"], row["currency"])),
                    "currency": row["currency"],
                    "pipeline": await _pipeline(ctx, settings.pipeline),
                    "organization": row["organization_id"],
                    "expected_close": row["ends_on"].isoformat(),
                },
            )
            row, _ = await ctx.update(Subscription, row, {"renewal_deal_id": deal.id})
            ctx.emit(
                "subscription.renewal_opened",
                "deal",
                deal.id,
                subscription=row["id"],
                ends_on=row["ends_on"],
            )
            opened.append(deal.id)
        health = await _health(ctx, row["organization_id"])
        risky = health is not None and health < settings.risk_below
        if risky and not row["at_risk"]:
            await ctx.update(Subscription, row, {"at_risk": 1})
            await ctx.run(
                "tag.add",
                {"entity": "organization", "record": row["organization_id"], "tag": "at-risk"},
            )
            ctx.emit(
                "subscription.at_risk",
                "organization",
                row["organization_id"],
                subscription=row["id"],
                health_score=health,
            )
            flagged.append(row["id"])
    return ScanOut(opened=opened, flagged=flagged)
