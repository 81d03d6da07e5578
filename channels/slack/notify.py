"""Notifications: events posted to the Slack channels named in settings, and personal DMs.

Runs in ``kith_on_event`` after the command committed; a failed post is retried by the
dispatcher as a job for this (event, plugin) pair, so nothing is lost when Slack is down.
"""

from __future__ import annotations

import json
from datetime import timedelta
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
    if event.name == "deal.rotting":
        if data.get("reason") == "no_next_activity":
            detail = " · no next step planned"
        else:
            days, stage = data.get("days_in_stage"), render.escape(data.get("stage") or "")
            detail = f" · {days} days in {stage} without activity"
    blocks = [render.section(f"*{event.name}* — {label}{detail}")]
    buttons = await buttons_for(app, event)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


TICKET_ALERTS = ("ticket.created", "ticket.sla_warning", "ticket.sla_breached", "ticket.escalated")
SNOOZE = timedelta(days=3)


async def buttons_for(app: kith.Kith, event: kith.Event) -> list[dict[str, Any]]:
    """What the people in the channel can do about ``event`` right there; each button runs
    its command as whoever clicks it, with their role."""
    data = event.data or {}
    if event.name in TICKET_ALERTS and event.entity_id is not None:
        payload = {"ticket": event.entity_id, "assignee": "me"}
        return [_button("Claim", "claim", "ticket.assign", payload)]
    if event.name != "deal.rotting" or event.entity_id is None:
        return []
    buttons = []
    next_stage = await _next_stage(app, event.entity_id)
    if next_stage:
        payload = {"deal": event.entity_id, "stage": next_stage}
        buttons.append(_button(f"Move to {next_stage}"[:75], "move", "deal.move", payload))
    if data.get("task_id"):
        until = event.at + SNOOZE
        while until.weekday() >= 5:  # to a working day
            until += timedelta(days=1)
        payload = {"task": int(data["task_id"]), "due": until.isoformat()}
        buttons.append(_button(f"Snooze to {until:%a %d %b}", "snooze", "task.update", payload))
    return buttons


async def _next_stage(app: kith.Kith, deal_id: int) -> str | None:
    """The open stage after the deal's current one in its pipeline, if any."""
    try:
        deal = await app.run("deal.get", {"deal": deal_id}, kith.SYSTEM)
        pipeline = await app.run("pipeline.get", {"pipeline": deal.pipeline_id}, kith.SYSTEM)
    except kith.KithError:
        return None
    stages = sorted(pipeline.stages, key=lambda s: s.position)
    at = next((i for i, s in enumerate(stages) if s.id == deal.stage_id), None)
    if at is None:
        return None
    return next((s.name for s in stages[at + 1 :] if s.kind == "open"), None)


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
