"""Natural dates people type in chat and mail: "tomorrow 9am", "fri", "in 3 days", "2027-01-31".

Parsed by a small grammar of our own (never ``eval``, no guessing beyond it), in the person's
time zone; the result is an aware UTC datetime. A date without a time means 9:00 local.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIME = time(9, 0)
WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
UNITS = {
    "minute": timedelta(minutes=1), "min": timedelta(minutes=1), "mins": timedelta(minutes=1),
    "minutes": timedelta(minutes=1), "hour": timedelta(hours=1), "hours": timedelta(hours=1),
    "h": timedelta(hours=1), "day": timedelta(days=1), "days": timedelta(days=1),
    "d": timedelta(days=1), "week": timedelta(weeks=1), "weeks": timedelta(weeks=1),
    "w": timedelta(weeks=1),
}  # fmt: skip
TIME = re.compile(r"^(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
IN = re.compile(r"^in\s+(\d{1,3})\s*([a-z]+)$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
HINT = "try 'today 5pm', 'tomorrow 9am', 'fri', 'next mon 14:00', 'in 3 days' or '2027-01-31'"


class WhenError(ValueError):
    """The text is not a date or time Kith understands; the message says what would be."""


def _time(text: str) -> time | None:
    m = TIME.match(text.strip())
    if not m:
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _day(text: str, today: date) -> date | None:
    words = text.split()
    if text in ("today", "tonight"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if words and words[0] == "next" and len(words) == 2 and words[1] in WEEKDAYS:
        ahead = (WEEKDAYS[words[1]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if text in WEEKDAYS:  # the next such day, today excluded
        return today + timedelta(days=(WEEKDAYS[text] - today.weekday()) % 7 or 7)
    m = ISO_DATE.match(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def parse_when(text: str, now: datetime, time_zone: str = "UTC") -> datetime:
    """``text`` as an aware UTC datetime, read in ``time_zone`` relative to ``now``."""
    tz = ZoneInfo(time_zone)
    local_now = now.astimezone(tz)
    clean = " ".join(text.lower().replace(",", " ").split())
    if not clean:
        raise WhenError(f"give a date or time: {HINT}")
    m = IN.match(clean)
    if m:
        unit = UNITS.get(m.group(2))
        if unit is None:
            raise WhenError(f"{m.group(2)!r} is not a unit of time (minutes, hours, days, weeks)")
        return (now + int(m.group(1)) * unit).astimezone(ZoneInfo("UTC"))
    at = _time(clean)
    if at is not None:  # a time alone: today, or tomorrow when it has passed
        moment = datetime.combine(local_now.date(), at, tz)
        if moment <= local_now:
            moment = datetime.combine(local_now.date() + timedelta(days=1), at, tz)
        return moment.astimezone(ZoneInfo("UTC"))
    words = clean.split()
    for split in range(len(words), 0, -1):  # the longest day phrase, then a time
        day = _day(" ".join(words[:split]), local_now.date())
        if day is None:
            continue
        rest = " ".join(words[split:])
        at = DEFAULT_TIME if not rest else _time(rest)
        if at is None:
            raise WhenError(f"{rest!r} is not a time of day (try '9am', '14:30')")
        return datetime.combine(day, at, tz).astimezone(ZoneInfo("UTC"))
    raise WhenError(f"{text!r} is not a date Kith understands: {HINT}")
