"""Notifications: events posted to the Slack channels named in settings, and personal DMs.

Runs in ``kith_on_event`` after the command committed; a failed post is retried by the
dispatcher as a job for this (event, plugin) pair, so nothing is lost when Slack is down.
"""

from __future__ import annotations

import json
from typing import Any

import kith
from slack_sdk.web.async_client import AsyncWebClient

from . import render
from .mentions import mentioned_users
from .settings import SlackSettings

# events that give a record to someone, and where the event says to whom
ASSIGNED = {"lead.assigned": "owner_id", "ticket.assigned": "assignee_id"}


def _button(text: str, action: str, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": f"kith_run_{action}",
        "text": {"type": "plain_text", "text": text},
        "value": json.dumps({"c": command, "p": payload}, separators=(",", ":")),
    }


async def _label(app: kith.Kith, event: kith.Event) -> str:
    record: dict[str, Any] = dict((event.data or {}).get("record") or {})
    if not record and event.entity and event.entity_id is not None:
        try:
            got = await app.run(f"{event.entity}.get", {event.entity: event.entity_id}, kith.SYSTEM)
            record = got.model_dump(mode="json")
        except kith.KithError:
            record = {"id": event.entity_id}
    return render.record_label(record)


async def message_for(app: kith.Kith, event: kith.Event, public_url: str) -> list[dict[str, Any]]:
    label = render.link(public_url, event.entity or "", event.entity_id, await _label(app, event))
    data = event.data or {}
    detail = ""
    if event.name in ("deal.won", "deal.lost"):
        detail = f" · {render.escape(data.get('value'))} {render.escape(data.get('currency'))}"
        if data.get("reason"):
            detail += f" · {render.escape(data['reason'])}"
    blocks = [render.section(f"*{event.name}* — {label}{detail}")]
    if event.name == "ticket.created":
        claim = _button(
            "Claim", "claim", "ticket.assign", {"ticket": event.entity_id, "assignee": "me"}
        )
        blocks.append({"type": "actions", "elements": [claim]})
    return blocks


async def notify(app: kith.Kith, settings: SlackSettings, event: kith.Event) -> None:
    """Post ``event`` to its channel; DM the person a record was just given to, and the
    people a note mentions — each as they chose with ``/kith notify``."""
    client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url)
    channel = settings.notify.get(event.name)
    if channel:
        blocks = await message_for(app, event, settings.public_url)
        await client.chat_postMessage(channel=channel, text=render.plain(blocks), blocks=blocks)
    data = event.data or {}
    column = ASSIGNED.get(event.name)
    if column and data.get(column):
        where = render.link(
            settings.public_url, event.entity or "", event.entity_id, await _label(app, event)
        )
        text = f"Assigned to you: {event.entity} {where}"
        await direct_message(app, client, event, int(data[column]), "assigned", text)
    record = data.get("record") or {}
    if event.name == "activity.logged" and record.get("kind") == "note" and record.get("body"):
        on = _noted_record(record)
        where = (
            render.link(settings.public_url, on[0], on[1], f"{on[0]} #{on[1]}") if on else "a note"
        )
        quote = render.escape(str(record["body"])[:300])
        for user_id, why in (await mentioned_users(app, str(record["body"]))).items():
            what = "you" if why == "you" else render.escape(why)
            text = f"A note on {where} mentions {what}:\n> {quote}"
            await direct_message(app, client, event, user_id, "mentions", text)


def _noted_record(activity: dict[str, Any]) -> tuple[str, int] | None:
    for entity in ("deal", "ticket", "lead", "contact", "organization"):
        if activity.get(f"{entity}_id"):
            return entity, int(activity[f"{entity}_id"])
    return None


async def direct_message(
    app: kith.Kith,
    client: AsyncWebClient,
    event: kith.Event,
    user_id: int,
    kind: str,
    text: str,
) -> None:
    """DM ``user_id`` unless they caused ``event`` themselves, turned ``kind`` off, or have
    no linked Slack account."""
    if event.actor.endswith(f"user:{user_id}"):
        return  # nobody needs telling what they just did
    try:
        prefs = await app.run("slack.notify_get", {"user": user_id}, kith.SYSTEM)
        user = await app.run("user.get", {"user": user_id}, kith.SYSTEM)
    except kith.KithError:
        return
    if not getattr(prefs, kind) or not user.slack_user_id or not user.active:
        return
    blocks = [render.section(text)]
    await client.chat_postMessage(
        channel=user.slack_user_id, text=render.plain(blocks), blocks=blocks
    )
