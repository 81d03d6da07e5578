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
def kith_tables() -> list[str]:
    """``slack_preferences`` (people's DM choices) and ``slack_events_seen``."""
    return ["kith.channels.slack.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """``slack.notify_get|set`` (``/kith notify``) and the channel's ``slack.event_seen``."""
    from . import preferences, seen

    return [*preferences.COMMANDS, seen.event_seen]


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """``slack.digest``: one scheduled job per user who wants the digest."""
    from .digest import JOBS

    return list(JOBS)


@kith.hookimpl
def kith_verbs() -> list[kith.Verb]:
    """``notify …``: each person chooses their DMs."""
    from .preferences import NOTIFY

    return [NOTIFY]


@kith.hookimpl
async def kith_on_event(event: kith.Event, kith: Kith) -> None:
    """Post the event to its Slack channel (settings), DM a newly assigned owner and the
    people a note mentions; a user's new time zone moves their digest."""
    if event.name == "user.updated" and "time_zone" in ((event.data or {}).get("changes") or {}):
        await _rearm_digest(kith, int(event.entity_id or 0))
        return
    settings = kith.plugin_settings(NAME)
    if not settings.bot_token:
        return
    from .notify import ASSIGNED, notify

    if (
        event.name in settings.notify
        or event.name in ASSIGNED
        or (event.name == "activity.logged" and (event.data or {}).get("kind") == "note")
    ):
        await notify(kith, settings, event)


async def _rearm_digest(app: Kith, user_id: int) -> None:
    prefs = await app.run("slack.notify_get", {"user": user_id}, kith.SYSTEM)
    if prefs.digest_at:  # the same time, read in the new zone
        await app.run("slack.notify_set", {"user": user_id, "digest": prefs.digest_at}, kith.SYSTEM)
