"""The sales plugin's settings: ``[plugins.sales]`` in ``plugins.toml``.

Every key has a default, so the plugin works with no section at all. Example::

    [plugins.sales]
    lost_reasons = ["Price", "Timing", "Competitor", "No budget", "No decision", "Other"]

    [plugins.sales.routing]
    team = "Sales"                 # fallback team when no rule matches
    strategy = "round_robin"       # round_robin | load_balanced | random

    [[plugins.sales.routing.rules]]
    name = "DACH"
    when = { country = ["DE", "AT", "CH"] }
    team = "DACH"

    [plugins.sales.forecast]
    base_currency = "EUR"
    rates = { USD = "0.92", GBP = "1.17" }   # 1 USD = 0.92 EUR
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import kith
from pydantic import BaseModel, ConfigDict, Field, field_validator

Strategy = Literal["round_robin", "load_balanced", "random"]
STRATEGIES: tuple[str, ...] = ("round_robin", "load_balanced", "random")

DEFAULT_LOST_REASONS = ["Price", "Timing", "Competitor", "No budget", "No decision", "Other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleSettings(_Strict):
    """A territory rule: when every condition matches, route within ``team`` (or ``users``)."""

    name: str = Field(min_length=1, max_length=100)
    when: dict[str, Any] = Field(
        default_factory=dict,
        description="field → value or list of values (case-insensitive); custom fields as "
        "'custom.<key>'; an empty 'when' matches every lead",
    )
    team: str | None = None
    users: list[str] = Field(default_factory=list, description="user emails")
    strategy: Strategy | None = None


class RoutingSettings(_Strict):
    enabled: bool = True
    organization_owner_first: bool = True
    team: str | None = Field(None, description="Fallback team when no rule matches")
    strategy: Strategy = "round_robin"
    default_capacity: int | None = Field(
        None, ge=0, description="Open leads a member may hold; per-member caps override it"
    )
    rules: list[RuleSettings] = Field(default_factory=list)


class FollowUpSettings(_Strict):
    contact_within_hours: float | None = Field(
        4, gt=0, le=24 * 30, description="A new lead gets a 'Contact …' task due this soon"
    )
    next_activity_grace_hours: float | None = Field(
        24, gt=0, le=24 * 90, description="An open deal without an open task after this long"
    )


class ForecastSettings(_Strict):
    base_currency: str = "EUR"
    rates: dict[str, Decimal] = Field(
        default_factory=dict, description="1 unit of the key currency = this many base units"
    )
    commit_probability: int = Field(75, ge=0, le=100)
    best_case_probability: int = Field(40, ge=0, le=100)

    @field_validator("base_currency")
    @classmethod
    def _base(cls, value: str) -> str:
        try:
            return kith.check_currency(value)
        except kith.KithError as err:
            raise ValueError(err.fields[0].message) from None

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for code, rate in value.items():
            try:
                norm = kith.check_currency(code)
            except kith.KithError as err:
                raise ValueError(err.fields[0].message) from None
            if rate <= 0:
                raise ValueError(f"the rate of {norm} must be positive")
            out[norm] = rate
        return out


class SalesSettings(_Strict):
    """``[plugins.sales]``."""

    lost_reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_LOST_REASONS))
    won_reasons: list[str] = Field(
        default_factory=list, description="Empty: any text; otherwise one of these"
    )
    require_won_reason: bool = False
    require_lost_reason: bool = True
    free_mail_domains: list[str] = Field(
        default_factory=list, description="Added to the shipped list of free-mail/ISP domains"
    )
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    follow_ups: FollowUpSettings = Field(default_factory=FollowUpSettings)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)


def settings_of(ctx: Any) -> SalesSettings:
    """The validated settings (from a command's, a job's or an event handler's ``kith``)."""
    app = getattr(ctx, "kith", ctx)
    try:
        return app.plugin_settings("sales")
    except kith.KithError:  # registered under another name (tests, forks)
        return SalesSettings()
