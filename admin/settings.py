"""``[plugins.admin]`` in plugins.toml: sessions, lockout and page sizes of the admin pages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AdminSettings(BaseModel):
    """How long a browser session lasts, when a log-in is locked, how big pages are."""

    session_hours: float = Field(12, gt=0, le=24 * 30, description="A session's lifetime")
    idle_minutes: float = Field(
        120, gt=0, le=24 * 60, description="A session unused this long ends"
    )
    lockout_failures: int = Field(
        5, ge=1, le=100, description="Failed log-ins in a row that lock an account"
    )
    lockout_minutes: float = Field(15, gt=0, le=24 * 60, description="How long a lock lasts")
    min_password_length: int = Field(10, ge=8, le=200)
    board_cards_per_column: int = Field(50, ge=5, le=500, description="Cards before 'more'")
    queue_page_size: int = Field(50, ge=5, le=500)
    secure_cookies: bool = Field(
        False, description="Send the session cookie only over HTTPS (set it behind TLS)"
    )
    login_attempts_per_minute: int = Field(
        20, ge=1, le=1000, description="Log-in posts per client address and minute"
    )


def admin_settings(source: Any) -> AdminSettings:
    """The settings, from a Kith or a Context."""
    value = source.plugin_settings("admin")
    return value if isinstance(value, AdminSettings) else AdminSettings()
