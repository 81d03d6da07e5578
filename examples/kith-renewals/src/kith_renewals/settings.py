"""``[plugins.renewals]`` in plugins.toml."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RenewalSettings(BaseModel):
    """When renewal deals open and what counts as at risk."""

    lead_days: int = Field(60, ge=1, le=365, description="Open the renewal deal this early")
    risk_below: int = Field(50, ge=0, le=100, description="Health score under this is a risk")
    pipeline: str = Field("Renewals", max_length=100, description="Pipeline of renewal deals")


def renewal_settings(source: Any) -> RenewalSettings:
    value = source.plugin_settings("renewals")
    return value if isinstance(value, RenewalSettings) else RenewalSettings()
