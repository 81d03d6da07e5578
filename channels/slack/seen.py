"""Events API deliveries already handled, shared by every Kith process: Slack retries a
delivery it believes lost (``X-Slack-Retry-Num``), and the retry may reach another process
behind the load balancer. A unique ``event_id`` row decides who answers."""

from __future__ import annotations

from datetime import timedelta

import kith
from pydantic import BaseModel, Field

from .tables import SlackEventSeen

KEEP = timedelta(days=2)  # Slack retries within minutes; two days is ample


class SeenIn(kith.Input):
    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class SeenOut(BaseModel):
    first_time: bool


@kith.command("slack.event_seen", input=SeenIn, output=SeenOut, permission="slack_events.admin")
async def event_seen(ctx: kith.Context, data: SeenIn) -> SeenOut:
    """Record that a Slack event id is being handled; ``first_time`` is false when any
    process already did (the Slack channel calls this; people have no use for it)."""
    if await ctx.find_one(SlackEventSeen, event_id=data.event_id) is not None:
        return SeenOut(first_time=False)
    await ctx.insert(
        SlackEventSeen, {"event_id": data.event_id, "seen_at": ctx.now()}, record_history=False
    )
    await _forget_old(ctx)
    return SeenOut(first_time=True)


async def _forget_old(ctx: kith.Context) -> None:
    """Forget ids older than two days (an index range: nothing to read when none are)."""
    statements = ctx.kith.db.statements
    (mark,) = statements.placeholders(1, 1)
    cutoff = statements.codec(SlackEventSeen).encode("seen_at", ctx.now() - KEEP)
    await ctx.fetch(
        f'DELETE FROM "slack_events_seen" WHERE "seen_at" < {mark} RETURNING "id"',  # noqa: S608
        [cutoff],
    )


async def first_time(app: kith.Kith, event_id: str) -> bool:
    """True for the first process to handle ``event_id`` (a lost race counts as seen)."""
    try:
        result = await app.run("slack.event_seen", {"event_id": event_id}, kith.SYSTEM)
    except kith.KithError as err:
        if err.code == "invalid_input":
            return True  # an id we cannot store: answer rather than stay silent
        return False
    except Exception:  # the unique index refused a concurrent insert: another process has it
        return False
    return bool(result.first_time)
