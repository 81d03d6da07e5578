"""The Slack channel registered as a plugin: settings, the ``/slack/events`` route, and
notifications on events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kith

from .settings import SlackSettings

if TYPE_CHECKING:
    from kith import Kith

NAME = "slack"


@kith.hookimpl
def kith_settings_model() -> type[SlackSettings]:
    """``[plugins.slack]``: notification channels, rate limit; secrets from the environment."""
    return SlackSettings


@kith.hookimpl
def kith_routes(kith: Kith) -> list[Any]:
    """Mount ``POST /slack/events`` (slash commands, interactivity and events)."""
    from .routes import slack_route

    return [slack_route(kith, kith.plugin_settings(NAME))]


@kith.hookimpl
async def kith_on_event(event: kith.Event, kith: Kith) -> None:
    """Post the event to its Slack channel (settings) and DM a newly assigned owner."""
    settings = kith.plugin_settings(NAME)
    if not settings.bot_token:
        return
    from .notify import ASSIGNED, notify

    if event.name in settings.notify or event.name in ASSIGNED:
        await notify(kith, settings, event)
