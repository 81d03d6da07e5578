"""``[plugins.marketing]`` in plugins.toml."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field


class MarketingSettings(BaseModel):
    """Consent purposes, public links and the limits of the public form endpoint."""

    purposes: dict[str, str] = Field(
        default_factory=lambda: {
            "newsletter": "Newsletter",
            "product_updates": "Product updates",
            "sales_outreach": "Sales outreach",
        },
        description="Consent purposes people can give: key → label",
    )
    public_url: str = Field(
        default_factory=lambda: os.environ.get("KITH_PUBLIC_URL", "http://127.0.0.1:8000"),
        description="Where people reach Kith (opt-in and unsubscribe links)",
    )
    sender_name: str = Field("Kith", max_length=100, description="Name on marketing mail")
    replies_address: str = Field(
        "replies", max_length=64, description="Local part sequence replies go to (replies@…)"
    )
    sender_daily_cap: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Marketing emails in any 24 hours from our sending address, all sequences "
        "together (each sequence also has its own daily cap)",
    )
    optin_days: int = Field(7, ge=1, le=60, description="How long an opt-in link works")
    form_rate_per_minute: int = Field(10, ge=1, description="Form posts per address a minute")
    form_max_bytes: int = Field(65_536, ge=1024, le=1_000_000, description="Largest form post")


def marketing_settings(source: Any) -> MarketingSettings:
    """The settings, from a Kith or a Context."""
    value = source.plugin_settings("marketing")
    return value if isinstance(value, MarketingSettings) else MarketingSettings()
