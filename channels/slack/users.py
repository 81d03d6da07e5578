"""Slack users as Kith users: linked by Slack id, linked by email through ``users.info``."""

from __future__ import annotations

from typing import Any

import kith
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


async def actor_for(app: kith.Kith, slack_user_id: str) -> kith.Actor | None:
    """The Kith user linked to ``slack_user_id`` as an actor (``slack:<id>`` in history),
    or ``None`` when nobody is linked or the user is deactivated."""
    found = await linked_user(app, slack_user_id)
    return found[0] if found else None


async def linked_user(app: kith.Kith, slack_user_id: str) -> tuple[kith.Actor, str] | None:
    """The linked Kith user as an actor, and their time zone (one lookup for both)."""
    try:
        user = await app.run("user.get", {"user": slack_user_id}, kith.SYSTEM)
    except kith.KithError as err:
        if err.code in ("not_found", "invalid_input"):
            return None
        raise
    if not user.active or user.archived_at is not None:
        return None
    return actor_of(user, f"slack:{slack_user_id}"), user.time_zone or "UTC"


def actor_of(user: Any, via: str) -> kith.Actor:
    """A Kith user (``user.get``'s result) as an actor acting through ``via``."""
    return kith.Actor(
        user_id=user.id,
        role=user.role,
        name=user.name,
        email=user.email,
        via=via,
        team_ids=tuple(getattr(user, "team_ids", ()) or ()),
    )


async def link(app: kith.Kith, client: AsyncWebClient, slack_user_id: str) -> str:
    """Link ``slack_user_id`` to the Kith user with the same email (read via ``users.info``).
    Returns what to tell the person."""
    try:
        info: Any = await client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        return f"Slack did not tell me your email ({exc.response.get('error', 'error')})."
    email = ((info.get("user") or {}).get("profile") or {}).get("email")
    if not email:
        return (
            "Slack did not share your email (the app needs the users:read.email scope). "
            "Ask an admin to run: kith user link YOUR_EMAIL " + slack_user_id
        )
    try:
        user = await app.run("user.get", {"user": email}, kith.SYSTEM)
    except kith.KithError:
        return f"There is no Kith user with the email {email}. Ask an admin to add you."
    if user.slack_user_id == slack_user_id:
        return f"You are already linked to {user.name} ({email})."
    await app.run("user.update", {"user": user.id, "slack_user_id": slack_user_id}, kith.SYSTEM)
    return f"Linked: you are {user.name} ({email}) in Kith, as {user.role}."
