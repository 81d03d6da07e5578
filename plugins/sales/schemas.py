"""What the sales commands return (the JSON schema feeds the API and MCP tool descriptions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import kith
from pydantic import BaseModel


class DealOut(BaseModel):
    """A deal as the sales commands show it: with its stage's name and probability."""

    id: int
    title: str
    value: str
    currency: str
    value_minor: int
    pipeline_id: int
    stage_id: int
    stage: str
    probability: int
    status: str
    owner_id: int | None
    contact_id: int | None
    organization_id: int | None
    expected_close: date | None
    close_reason: str | None
    closed_at: datetime | None
    stage_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


def deal_out(deal: dict[str, Any], stage: dict[str, Any]) -> DealOut:
    return DealOut.model_validate(
        {
            **deal,
            "value": kith.to_major(deal["value_minor"], deal["currency"]),
            "stage": stage["name"],
            "probability": stage["probability"],
        }
    )


class LeadOut(BaseModel):
    id: int
    name: str
    email: str | None
    company: str | None
    source: str | None
    status: str
    disqualify_reason: str | None
    owner_id: int | None
    score: int
    contact_id: int | None
    organization_id: int | None
    created_at: datetime
    updated_at: datetime


class Match(BaseModel):
    """A record a new lead was attached to instead of creating a duplicate, and why."""

    entity: str
    id: int
    label: str
    reason: str


class Routing(BaseModel):
    """Who got the lead, and the rule that chose them."""

    owner_id: int | None
    rule: str
    strategy: str | None = None
    contact_task_id: int | None = None
    contact_due: datetime | None = None
    contact_due_local: str | None = None


class CaptureOut(BaseModel):
    created: bool
    lead: LeadOut
    matches: list[Match] = []
    routing: Routing | None = None
    message: str


class ConversionOut(BaseModel):
    lead: LeadOut
    contact_id: int
    organization_id: int | None
    deal_id: int | None
    created: list[str]
    message: str
