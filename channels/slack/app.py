"""The bolt app: ``/kith`` commands, choice buttons, notification buttons, ``app_mention``.

Every handler acks within Slack's 3 seconds: a command that finishes within
``answer_within_s`` answers in the ack itself; a slower one is acked with "Working on it…"
and answers through ``response_url`` when done. A ``response_url`` takes 5 answers within 30
minutes; past that (or when Slack refuses it) the answer goes to the user by DM instead
(:class:`Responder`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import kith
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from . import modals, render
from .seen import first_time
from .settings import SlackSettings
from .users import actor_for, link, linked_user

log = logging.getLogger("kith.slack")
LINK_FIRST = (
    "Your Slack account is not linked to a Kith user yet. Type `/kith link` (it matches your "
    "Slack email), or ask an admin to run `kith user link YOUR_EMAIL {user}`."
)


RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = timedelta(minutes=30) - timedelta(seconds=30)  # a margin for the trip


class Responder:
    """Answers one interaction: through its ``response_url`` while Slack still takes it (5
    uses, 30 minutes from the interaction), otherwise — or when Slack answers with an error
    — by a DM to the user (``chat.postMessage`` with the user id as the channel)."""

    def __init__(self, app: kith.Kith, respond: Any, client: AsyncWebClient, user_id: str) -> None:
        self.app, self.respond, self.client, self.user_id = app, respond, client, user_id
        self.started: datetime = app.clock.now()
        self.uses = 0

    def url_usable(self) -> bool:
        fresh = self.app.clock.now() - self.started < RESPONSE_URL_LIFETIME
        return fresh and self.uses < RESPONSE_URL_USES

    async def __call__(self, text: str, blocks: list[dict[str, Any]] | None = None, **kw: Any):
        if self.url_usable():
            self.uses += 1
            try:
                answer = await self.respond(text=text, blocks=blocks, **kw)
                if getattr(answer, "status_code", 200) < 400:
                    return
                log.warning("response_url refused (%s): answering by DM", answer.status_code)
            except Exception:  # the URL expired or Slack is unreachable: try the DM
                log.warning("response_url failed: answering by DM", exc_info=True)
        await self.client.chat_postMessage(channel=self.user_id, text=text, blocks=blocks)


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


async def execute(
    app: kith.Kith,
    actor: kith.Actor,
    invocation: kith.Invocation,
    idempotency_key: str | None = None,
) -> tuple[Any, kith.KithError | None, dict[str, Any]]:
    """Run the command of a parsed line (its fallbacks when the first names nothing):
    ``(result, None, payload)``, or ``(None, error, payload)`` for the payload refused."""
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
            return None, err, payload
        return result, None, payload
    raise AssertionError("unreachable: tries is never empty")


async def present(
    app: kith.Kith,
    actor: kith.Actor,
    invocation: kith.Invocation,
    result: Any,
    public_url: str,
) -> list[dict[str, Any]]:
    """A command's result as blocks, the way the line asked for (``show``)."""
    if invocation.show == "hits":
        return render.hits(result, public_url)
    if invocation.show == "pipeline":
        return render.pipeline(result)
    if invocation.show == "forecast":
        return render.forecast(result)
    if invocation.show == "message":
        return [render.section(render.escape(getattr(result, "message", "") or "Done."))]
    extra: dict[str, Any] = {}
    stage_id = getattr(result, "stage_id", None)
    if stage_id is not None:  # people think in stage names
        try:
            extra["stage"] = (await app.run("stage.get", {"stage": stage_id}, actor)).name
        except kith.KithError:
            pass
    return render.record(invocation.command, result, public_url, extra)


async def run_invocation(
    app: kith.Kith,
    actor: kith.Actor,
    invocation: kith.Invocation,
    public_url: str,
    idempotency_key: str | None = None,
) -> list[dict[str, Any]]:
    """Run the command of a parsed line; its answer (or its error) as blocks."""
    result, err, payload = await execute(app, actor, invocation, idempotency_key)
    if err is not None:
        return render.error(err, kith.Invocation(invocation.command, payload))
    return await present(app, actor, invocation, result, public_url)


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

    def context_in(time_zone: str) -> kith.VerbContext:
        return kith.VerbContext(app.clock.now(), time_zone)

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
        found = await linked_user(app, who)
        if found is None:
            await ack(text=LINK_FIRST.format(user=who))
            return
        actor, time_zone = found
        try:
            invocation = kith.parse_line(line, verbs, context_in(time_zone))
        except kith.KithError as err:
            if await open_form(body, err):
                await ack()
                return
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

            answer = Responder(app, respond, bolt.client, who)

            async def answer_later() -> None:
                blocks = await work
                await answer(text=render.plain(blocks), blocks=blocks, response_type="ephemeral")

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
        respond = Responder(app, respond, bolt.client, who)
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

    async def open_form(body: dict[str, Any], err: kith.KithError) -> bool:
        """Open the verb's form, pre-filled, when the line left a part out."""
        missing = any(f.message.startswith("is missing") for f in err.fields or [])
        try:
            found = modals.form_for(kith.split_line(body.get("text") or ""))
        except kith.KithError:
            return False
        if not (missing and found and body.get("trigger_id")):
            return False
        form, words = found
        first = err.fields[0]
        note = f":pencil: {render.escape(first.field)} {render.escape(first.message)}"
        metadata = {"channel": body.get("channel_id") or ""}
        try:
            await bolt.client.views_open(
                trigger_id=body["trigger_id"],
                view=modals.view(form, form.prefill(words), metadata, note),
            )
        except Exception:  # Slack refused the form: answer with the error instead
            log.warning("views.open failed; answering with the error", exc_info=True)
            return False
        return True

    @bolt.view(re.compile("^" + re.escape(modals.CALLBACK_PREFIX)))
    async def on_form(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        who = (body.get("user") or {}).get("id", "")
        form = modals.FORMS.get(str(view.get("callback_id", ""))[len(modals.CALLBACK_PREFIX) :])
        if form is None:
            await ack()  # a form of an older Kith: nothing to do
            return
        found = await linked_user(app, who)
        if found is None:
            first = form.fields[0].key
            await ack(response_action="errors", errors={first: "Link your account: /kith link"})
            return
        actor, time_zone = found
        values = modals.submitted_values(view.get("state") or {})
        try:
            invocation = form.invocation(values, context_in(time_zone))
        except kith.KithError as err:
            await ack(response_action="errors", errors=modals.field_errors(form, err))
            return
        key = f"slack:view:{view.get('id', '')}"
        result, err, _ = await execute(app, actor, invocation, key)
        if err is not None:
            await ack(response_action="errors", errors=modals.field_errors(form, err))
            return
        await ack()  # the form closes; the answer goes where the line was typed
        blocks = await present(app, actor, invocation, result, settings.public_url)
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        task = asyncio.ensure_future(tell(who, str(metadata.get("channel") or ""), blocks))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def tell(who: str, channel: str, blocks: list[dict[str, Any]]) -> None:
        """Show ``blocks`` to ``who`` alone in ``channel``, or by DM when that fails."""
        text = render.plain(blocks)
        if channel:
            try:
                await bolt.client.chat_postEphemeral(
                    channel=channel, user=who, text=text, blocks=blocks
                )
                return
            except Exception:  # not in that channel any more, or it is a DM we cannot use
                log.info("chat.postEphemeral failed; answering by DM", exc_info=True)
        await bolt.client.chat_postMessage(channel=who, text=text, blocks=blocks)

    @bolt.event("app_mention")
    async def on_mention(ack: Any, body: dict[str, Any], event: dict[str, Any], say: Any):
        await ack()
        event_id = str(body.get("event_id") or "")
        if not seen.first_time(event_id) or not await first_time(app, event_id):
            return  # a retried delivery, here or in another Kith process
        await say(text="Type `/kith help` to see what I can do.", thread_ts=event.get("ts"))

    return bolt
