"""The bolt app: ``/kith`` commands, choice buttons, notification buttons, ``app_mention``.

Every handler acks within Slack's 3 seconds: a command that finishes within
``answer_within_s`` answers in the ack itself; a slower one is acked with "Working on it…"
and answers through ``response_url`` when done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from typing import Any

import kith
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from . import render
from .settings import SlackSettings
from .users import actor_for, link, time_zone_of

log = logging.getLogger("kith.slack")
LINK_FIRST = (
    "Your Slack account is not linked to a Kith user yet. Type `/kith link` (it matches your "
    "Slack email), or ask an admin to run `kith user link YOUR_EMAIL {user}`."
)


class RateLimit:
    """At most ``per_minute`` commands per Slack user in any 60 seconds (per process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.seen: dict[str, deque[float]] = {}

    def allow(self, who: str) -> bool:
        now = time.monotonic()
        times = self.seen.setdefault(who, deque())
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        if len(self.seen) > 50_000:
            self.seen.clear()
        return True


class SeenIds:
    """Event ids already handled (Slack retries deliveries): a bounded, ordered set."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.ids: dict[str, None] = {}

    def first_time(self, key: str) -> bool:
        if key in self.ids:
            return False
        self.ids[key] = None
        if len(self.ids) > self.size:
            self.ids.pop(next(iter(self.ids)))
        return True


async def run_invocation(
    app: kith.Kith,
    actor: kith.Actor,
    invocation: kith.Invocation,
    public_url: str,
    idempotency_key: str | None = None,
) -> list[dict[str, Any]]:
    """Run the command of a parsed line; its answer (or its error) as blocks."""
    tries = [invocation.payload, *invocation.fallbacks]
    for i, payload in enumerate(tries):
        try:
            result = await app.run(
                invocation.command, payload, actor, idempotency_key=idempotency_key
            )
        except kith.KithError as err:
            if err.code == "not_found" and i + 1 < len(tries):
                continue
            if err.code == "unknown_command":
                err = kith.KithError(
                    "unavailable",
                    f"{invocation.command} is not available here (is its plugin enabled?)",
                )
            return render.error(err, kith.Invocation(invocation.command, payload))
        if invocation.show == "hits":
            return render.hits(result, public_url)
        if invocation.show == "pipeline":
            return render.pipeline(result)
        if invocation.show == "forecast":
            return render.forecast(result)
        extra: dict[str, Any] = {}
        stage_id = getattr(result, "stage_id", None)
        if stage_id is not None:  # people think in stage names
            try:
                extra["stage"] = (await app.run("stage.get", {"stage": stage_id}, actor)).name
            except kith.KithError:
                pass
        return render.record(invocation.command, result, public_url, extra)
    return []  # pragma: no cover - tries is never empty


def build_bolt(app: kith.Kith, settings: SlackSettings) -> AsyncApp:
    """The bolt app for ``app`` (Kith), wired to Slack's Web API at ``settings.api_url``."""
    client = AsyncWebClient(token=settings.bot_token or None, base_url=settings.api_url)
    bolt = AsyncApp(
        signing_secret=settings.signing_secret,
        client=client,
        logger=log,
        # listeners run to the end before bolt answers (bolt's other mode polls for the ack
        # every 10 ms); a slow command continues in a task of ours, see on_kith
        process_before_response=True,
        request_verification_enabled=True,
    )
    limits = RateLimit(settings.rate_limit_per_minute)
    pending: set[asyncio.Future[None]] = set()  # answers still on their way
    seen = SeenIds()
    verbs = app.hooks.verbs()

    async def context_for(actor: kith.Actor) -> kith.VerbContext:
        return kith.VerbContext(app.clock.now(), await time_zone_of(app, actor))

    @bolt.command("/kith")
    async def on_kith(ack: Any, body: dict[str, Any], respond: Any) -> None:
        who, line = body.get("user_id", ""), body.get("text") or ""
        if not limits.allow(who):
            await ack(text="Slow down: too many commands this minute. Try again shortly.")
            return
        words = line.split()
        first = words[0].lower() if words else "help"
        if first == "help" or not words:
            await ack(text=kith.usage_text(verbs, words[1] if len(words) > 1 else None))
            return
        if first == "link":
            await ack(text=await link(app, bolt.client, who))
            return
        actor = await actor_for(app, who)
        if actor is None:
            await ack(text=LINK_FIRST.format(user=who))
            return
        try:
            invocation = kith.parse_line(line, verbs, await context_for(actor))
        except kith.KithError as err:
            blocks = render.error(err)
            await ack(text=render.plain(blocks), blocks=blocks)
            return
        if invocation.show in ("help", "link"):
            await ack(text=kith.usage_text(verbs))
            return
        work = asyncio.ensure_future(run_invocation(app, actor, invocation, settings.public_url))
        try:
            blocks = await asyncio.wait_for(asyncio.shield(work), settings.answer_within_s)
        except TimeoutError:
            await ack(text="Working on it…")

            async def answer_later() -> None:
                blocks = await work
                await respond(text=render.plain(blocks), blocks=blocks, response_type="ephemeral")

            later = asyncio.ensure_future(answer_later())
            pending.add(later)
            later.add_done_callback(pending.discard)
            return
        await ack(text=render.plain(blocks), blocks=blocks)

    async def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any):
        await ack()
        task = asyncio.ensure_future(run_button(body, action, respond))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def run_button(body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        who = (body.get("user") or {}).get("id", "")
        actor = await actor_for(app, who)
        if actor is None:
            await respond(text=LINK_FIRST.format(user=who), replace_original=False)
            return
        try:
            value = json.loads(action.get("value") or "{}")
            invocation = kith.Invocation(str(value["c"]), dict(value["p"]))
        except (ValueError, KeyError, TypeError):
            await respond(text="This button is out of date.", replace_original=False)
            return
        # a button clicked twice (or delivered twice) runs its command once
        key = f"slack:{body.get('container', {}).get('message_ts', '')}:{action.get('action_id')}"
        blocks = await run_invocation(app, actor, invocation, settings.public_url, key)
        await respond(text=render.plain(blocks), blocks=blocks, replace_original=False)

    bolt.action(re.compile(r"^kith_(pick|run)_"))(on_button)

    @bolt.event("app_mention")
    async def on_mention(ack: Any, body: dict[str, Any], event: dict[str, Any], say: Any):
        await ack()
        if not seen.first_time(str(body.get("event_id"))):
            return  # a retried delivery
        await say(text="Type `/kith help` to see what I can do.", thread_ts=event.get("ts"))

    return bolt
