"""People's own Slack notifications (``/kith notify``): DMs when something is assigned to
them, DMs when a note mentions them or a record of theirs, and a morning digest at a time
of their choosing in their own time zone.

The digest is one scheduled job per user (key ``slack-digest:<user id>``), moved whenever
the user changes the time (or their time zone) and re-armed by the digest itself — exact to
the minute, no polling.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import kith
from pydantic import BaseModel, Field

from .tables import SlackPreference

DIGEST_JOB = "slack.digest"
TIME = re.compile(r"^(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ampm>am|pm)?$")
DEFAULTS: dict[str, Any] = {"assigned": True, "mentions": True, "digest_at": None}


def digest_key(user_id: int) -> str:
    return f"slack-digest:{user_id}"


def parse_digest_time(text: str) -> str | None:
    """``"8am"``, ``"08:30"``, ``"7.15pm"`` → ``"HH:MM"``; ``"off"`` → ``None``."""
    text = text.strip().lower()
    if text in ("off", "none", "no", "stop"):
        return None
    match = TIME.match(text)
    if match is None:
        raise kith.invalid("digest", f"{text!r} is not a time: give one like 08:00 or 8am, or off")
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise kith.invalid("digest", f"{text!r}: with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
    if hour > 23 or minute > 59:
        raise kith.invalid("digest", f"{text!r} is not a time of day (00:00 to 23:59)")
    return f"{hour:02d}:{minute:02d}"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_digest_at(now: datetime, time_zone: str | None, at: str) -> datetime:
    """The next moment after ``now`` when the wall clock in ``time_zone`` reads ``at``."""
    tz = zone(time_zone)
    hour, minute = (int(p) for p in at.split(":"))
    local = now.astimezone(tz)
    day = local.date()
    for offset in range(0, 3):
        candidate = datetime.combine(day + timedelta(days=offset), time(hour, minute), tz)
        # a wall time skipped by a daylight-saving jump resolves to the hour after it
        candidate = candidate.astimezone(ZoneInfo("UTC"))
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a day has every wall time or the next hour")


class NotifyRef(kith.Input):
    user: kith.Ref | None = Field(None, description="Whose choices (default: yours)")


class NotifySet(NotifyRef):
    assigned: bool | None = Field(None, description="DM me when a lead or ticket is given to me")
    mentions: bool | None = Field(
        None, description="DM me when a note mentions me or a record of mine"
    )
    digest: str | None = Field(
        None,
        max_length=20,
        description="Morning digest time in my time zone ('08:00', '8am'), or 'off'",
    )


class NotifyOut(BaseModel):
    user_id: int
    assigned: bool
    mentions: bool
    digest_at: str | None
    time_zone: str
    next_digest_at: datetime | None
    message: str


async def _target(ctx: kith.Context, ref: kith.Ref | None) -> Any:
    if ref is None:
        if ctx.actor.user_id is None:
            raise kith.invalid("user", "say whose notifications (the system has none)")
        ref = ctx.actor.user_id
    user = await ctx.run("user.get", {"user": ref})
    if user.id != ctx.actor.user_id and ctx.actor.role not in ("admin", "system"):
        raise kith.forbidden("You choose your own notifications only.")
    return user


async def preferences_of(ctx: kith.Context, user_id: int) -> dict[str, Any]:
    """A user's choices (the defaults when they never chose)."""
    row = await ctx.find_one(SlackPreference, user_id=user_id)
    return {key: row[key] for key in DEFAULTS} if row else dict(DEFAULTS)


def _out(user: Any, prefs: dict[str, Any], now: datetime) -> NotifyOut:
    tz = user.time_zone or "UTC"
    upcoming = next_digest_at(now, tz, prefs["digest_at"]) if prefs["digest_at"] else None
    parts = [
        f"assignments {'on' if prefs['assigned'] else 'off'}",
        f"mentions {'on' if prefs['mentions'] else 'off'}",
    ]
    if upcoming:
        local = upcoming.astimezone(zone(tz))
        parts.append(f"morning digest at {prefs['digest_at']} {tz} (next {local:%a %d %b %H:%M})")
    else:
        parts.append("morning digest off")
    return NotifyOut(
        user_id=user.id,
        time_zone=tz,
        next_digest_at=upcoming,
        message="Your Slack DMs: " + " · ".join(parts) + ".",
        **prefs,
    )


@kith.command(
    "slack.notify_get",
    input=NotifyRef,
    output=NotifyOut,
    permission="profile.read",
    read_only=True,
)
async def notify_get(ctx: kith.Context, data: NotifyRef) -> NotifyOut:
    """Which Slack DMs a user gets: assignments, mentions, the morning digest (yours, or
    anyone's for an admin)."""
    user = await _target(ctx, data.user)
    return _out(user, await preferences_of(ctx, user.id), ctx.now())


@kith.command("slack.notify_set", input=NotifySet, output=NotifyOut, permission="profile.read")
async def notify_set(ctx: kith.Context, data: NotifySet) -> NotifyOut:
    """Choose your Slack DMs: ``assigned`` and ``mentions`` on or off, ``digest`` a time in
    your time zone (``08:00``, ``8am``) or ``off``. The change is in your history."""
    user = await _target(ctx, data.user)
    changes: dict[str, Any] = {}
    if data.assigned is not None:
        changes["assigned"] = data.assigned
    if data.mentions is not None:
        changes["mentions"] = data.mentions
    if data.digest is not None:
        changes["digest_at"] = parse_digest_time(data.digest)
    if not changes:
        raise kith.invalid("assigned", "say what to change: assigned, mentions or digest")
    row = await ctx.find_one(SlackPreference, user_id=user.id)
    before = {key: row[key] for key in DEFAULTS} if row else dict(DEFAULTS)
    if row is None:
        await ctx.insert(
            SlackPreference, {"user_id": user.id, **DEFAULTS, **changes}, record_history=False
        )
    else:
        await ctx.update(SlackPreference, row, changes, record_history=False)
    after = {**before, **changes}
    diff = {k: [before[k], after[k]] for k in changes if before[k] != after[k]}
    if diff:
        ctx.record_history("user", user.id, "slack_notifications_changed", diff)
    await arm_digest(ctx, user.id, user.time_zone, after["digest_at"])
    return _out(user, after, ctx.now())


async def arm_digest(
    ctx: kith.Context, user_id: int, time_zone: str | None, at: str | None
) -> None:
    """Schedule (or move, or cancel) the user's next digest."""
    if at is None:
        await ctx.cancel(digest_key(user_id))
        return
    when = next_digest_at(ctx.now(), time_zone, at)
    await ctx.schedule(DIGEST_JOB, {"user": user_id}, at=when, key=digest_key(user_id))


COMMANDS = [notify_get, notify_set]


def _notify_verb(words: list[str], context: kith.VerbContext) -> kith.Invocation:
    if not words:
        return kith.Invocation("slack.notify_get", {}, show="message")
    payload: dict[str, Any] = {}
    rest = [w.lower() for w in words]
    while rest:
        what = rest.pop(0)
        if what not in ("assigned", "mentions", "digest"):
            raise kith.verb_error(
                NOTIFY, what, "say assigned, mentions or digest (e.g. notify digest 8am)"
            )
        if not rest:
            raise kith.verb_error(NOTIFY, what, "is missing its value (on, off or a time)")
        value = rest.pop(0)
        if what == "digest":
            if rest and rest[0] in ("am", "pm"):
                value += rest.pop(0)
            payload["digest"] = value
        elif value in ("on", "off"):
            payload[what] = value == "on"
        else:
            raise kith.verb_error(NOTIFY, what, f"{value!r}: say on or off")
    return kith.Invocation("slack.notify_set", payload, show="message")


NOTIFY = kith.Verb(
    "notify",
    (
        "notify",
        "notify assigned on|off",
        "notify mentions on|off",
        "notify digest <time>|off",
    ),
    "Choose your DMs: assignments, mentions, a morning digest",
    _notify_verb,
    ("notify digest 8am", "notify mentions off"),
)
