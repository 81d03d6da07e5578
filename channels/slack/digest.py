"""The morning digest: today's tasks, rotting deals and tickets about to breach, as one DM,
read with the user's own role (they see what they may see) and shown in their time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import kith
from slack_sdk.web.async_client import AsyncWebClient

from . import render
from .preferences import DIGEST_JOB, arm_digest, preferences_of, zone
from .users import actor_of

MAX_LINES = 10  # per section; the rest is a count and a link


async def _optional(app: kith.Kith, name: str, payload: dict[str, Any], actor: kith.Actor) -> Any:
    """A query of a plugin that may be turned off: ``None`` when it is not there."""
    try:
        return await app.run(name, payload, actor)
    except kith.KithError as err:
        if err.code in ("unknown_command", "not_found"):
            return None
        raise


async def todays_tasks(app: kith.Kith, actor: kith.Actor, end_of_day: datetime) -> list[Any]:
    page = await app.run(
        "task.list",
        {
            "filter": {"assignee_id": actor.user_id, "status": "open"},
            "sort": "due_at",
            "limit": 200,
        },
        actor,
    )
    return [t for t in page.items if t.due_at is not None and t.due_at < end_of_day]


async def rotting_deals(app: kith.Kith, actor: kith.Actor) -> list[Any]:
    pipelines = await app.run("pipeline.list", {"limit": 50}, actor)
    cards: list[Any] = []
    for pipeline in pipelines.items:
        board = await app.run(
            "deal.board", {"pipeline": pipeline.id, "owner": actor.user_id, "per_column": 200},
            actor,
        )  # fmt: skip
        for column in board.columns:
            cards.extend(c for c in column.cards if c.rotting)
    return cards


async def digest_blocks(app: kith.Kith, user: Any, now: datetime) -> list[dict[str, Any]] | None:
    """The digest for ``user`` at ``now``; ``None`` when there is nothing to say."""
    actor = actor_of(user, "slack:digest")
    tz = zone(user.time_zone)
    local_now = now.astimezone(tz)
    end_of_day = datetime.combine(local_now.date() + timedelta(days=1), time(0), tz)
    public_url = app.plugin_settings("slack").public_url
    tasks = await todays_tasks(app, actor, end_of_day)
    deals = await rotting_deals(app, actor)
    tickets = await _optional(
        app,
        "ticket.queue",
        {"queue": "breaching_soon", "within_minutes": 8 * 60, "limit": 500},
        actor,
    )
    mine = [t for t in (tickets.tickets if tickets else []) if t.assignee_id == actor.user_id]
    if not (tasks or deals or mine):
        return None
    blocks = [render.section(f"*Good morning, {render.escape(user.name)}* — {local_now:%A %d %B}")]

    def add(title: str, lines: list[str], total: int) -> None:
        if not lines:
            return
        more = f"\n…and {total - len(lines)} more" if total > len(lines) else ""
        blocks.append(render.section(f"*{title}* ({total})\n" + "\n".join(lines) + more))

    add(
        "Tasks due today",
        [
            f"• {local:%H:%M}{' (overdue)' if t.due_at < now else ''} — {render.escape(t.title)}"
            for t in tasks[:MAX_LINES]
            for local in [t.due_at.astimezone(tz)]
        ],
        len(tasks),
    )
    add(
        "Deals rotting",
        [
            f"• {render.link(public_url, 'deal', c.id, render.escape(c.title))}"
            f" — {c.days_in_stage} days in stage"
            for c in deals[:MAX_LINES]
        ],
        len(deals),
    )
    add(
        "Tickets breaching soon",
        [
            f"• {render.link(public_url, 'ticket', t.id, f'#{t.id} ' + render.escape(t.subject))}"
            f" — due {t.next_breach_at.astimezone(tz):%H:%M}"
            for t in mine[:MAX_LINES]
            if t.next_breach_at is not None
        ],
        len(mine),
    )
    return blocks


@kith.job(DIGEST_JOB, max_attempts=3, backoff_base_s=60)
async def send_digest(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Send one user's morning digest by DM, then arm tomorrow's. A digest whose time no
    longer matches the user's choice (they changed it, or their time zone) only re-arms."""
    user_id = int(payload["user"])
    try:
        user = await ctx.run("user.get", {"user": user_id})
    except kith.KithError:
        return  # the user is gone: no digest, nothing to re-arm
    prefs = await preferences_of(ctx, user_id)
    if prefs["digest_at"] is None or not user.active or not user.slack_user_id:
        return
    now = ctx.now()
    local = now.astimezone(zone(user.time_zone))
    hour, minute = (int(p) for p in prefs["digest_at"].split(":"))
    wanted = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if abs((local - wanted).total_seconds()) <= 30 * 60:
        blocks = await digest_blocks(ctx.kith, user, now)
        if blocks:
            settings = ctx.kith.plugin_settings("slack")
            client = AsyncWebClient(token=settings.bot_token or None, base_url=settings.api_url)
            await client.chat_postMessage(
                channel=user.slack_user_id, text=render.plain(blocks), blocks=blocks
            )
    await arm_digest(ctx, user_id, user.time_zone, prefs["digest_at"])


JOBS = [send_digest]
