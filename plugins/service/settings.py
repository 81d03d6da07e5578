"""``[plugins.service]`` in plugins.toml."""

from __future__ import annotations

from typing import Any

import kith
from pydantic import BaseModel, ConfigDict, Field

PLUGIN = "service"


class ServiceSettings(BaseModel):
    """Settings of the service plugin (all optional)."""

    model_config = ConfigDict(extra="forbid")

    auto_close_days: int = Field(4, ge=1, le=365, description="Solved tickets close after this")
    csat_delay_minutes: int = Field(
        0, ge=0, le=60 * 24 * 14, description="Wait this long after a solve to ask for a rating"
    )
    csat_link_days: int = Field(30, ge=1, le=365, description="How long rating links work")
    csat_url: str = Field(
        "http://127.0.0.1:8000/plugins/service/csat",
        description=(
            "The rating page (mounted by the plugin at /plugins/service/csat); links are "
            "<csat_url>/<token>?rating=…"
        ),
    )
    default_team: str | None = Field(
        None, description="The team (name) of new tickets no rule sends elsewhere"
    )
    tier_field: str = Field(
        "tier", description="The organization custom field holding its tier (gold, silver…)"
    )


def service_settings(source: Any) -> ServiceSettings:
    """The settings, from a ``ctx`` or a :class:`kith.Kith`."""
    app: kith.Kith = source.kith if isinstance(source, kith.Context) else source
    try:
        return app.plugin_settings(PLUGIN)
    except kith.KithError:  # the plugin registered under another name (tests)
        return ServiceSettings()
