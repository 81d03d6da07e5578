"""``[plugins.webhooks]`` in plugins.toml."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class WebhookSettings(BaseModel):
    """How deliveries are made and when a failing subscription is disabled."""

    max_attempts: int = Field(8, ge=1, le=20, description="Attempts per delivery")
    backoff_s: list[float] = Field(
        default_factory=lambda: [30, 120, 600, 1800, 3600, 10800, 21600],
        min_length=1,
        description="Wait before attempt 2, 3, …; the last value repeats",
    )
    disable_after: int = Field(
        15, ge=1, description="Consecutive failed attempts after which a subscription is disabled"
    )
    timeout_s: float = Field(10.0, gt=0, le=60, description="Time allowed for one attempt")
    max_subscriptions: int = Field(100, ge=1, description="Active subscriptions allowed")

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2 for the first retry)."""
        return self.backoff_s[min(attempt - 2, len(self.backoff_s) - 1)]


def webhook_settings(source: Any) -> WebhookSettings:
    """The settings, from a Kith or a Context."""
    value = source.plugin_settings("webhooks")
    return value if isinstance(value, WebhookSettings) else WebhookSettings()
