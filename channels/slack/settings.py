"""``[plugins.slack]`` settings; the secrets come from the environment."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


class SlackSettings(BaseModel):
    """How Kith talks to Slack. ``KITH_SLACK_SIGNING_SECRET`` and ``KITH_SLACK_BOT_TOKEN``
    come from the Slack app's settings; ``KITH_SLACK_API_URL`` points the Web API elsewhere
    (tests, air-gapped proxies)."""

    model_config = ConfigDict(extra="forbid")

    signing_secret: str = Field(default_factory=lambda: _env("KITH_SLACK_SIGNING_SECRET"))
    bot_token: str = Field(default_factory=lambda: _env("KITH_SLACK_BOT_TOKEN"))
    api_url: str = Field(
        default_factory=lambda: _env("KITH_SLACK_API_URL", "https://slack.com/api/")
    )
    public_url: str = Field(
        default_factory=lambda: _env("KITH_PUBLIC_URL", "http://127.0.0.1:8000"),
        description="Where people open Kith's admin pages (links in answers)",
    )
    answer_within_s: float = Field(
        2.0, gt=0, le=2.5, description="Answer in the ack when the command is this fast"
    )
    rate_limit_per_minute: int = Field(30, ge=1, le=1000, description="Per Slack user")
    max_body_bytes: int = Field(256_000, ge=1024, le=5_000_000)
    notify: dict[str, str] = Field(
        default_factory=dict,
        description="Event name → Slack channel id, e.g. {'deal.won': 'C0123', "
        "'ticket.created': 'C0456'}",
    )
