"""Time the way people write it in automations: ``3 days``, ``+2 business days``,
``until 9am next business day``, ``older_than: 14 days``.

Everything parses into a small value at definition time (so a typo is refused with its
field), and computes a UTC time later from "now" and the automation's time zone. Business
days are Monday to Friday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UNITS = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "business day": "business_days",
    "business days": "business_days",
    "working day": "business_days",
    "working days": "business_days",
}
DURATION = re.compile(
    r"^\s*(\d{1,5})\s*"
    r"(business days?|working days?|minutes?|mins?|hours?|days?|weeks?|m|h|d|w)\s*$",
    re.IGNORECASE,
)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
MAX_DAYS = 3660


@dataclass(frozen=True)
class Duration:
    """``amount`` of ``unit`` (minutes, hours, days, weeks or business_days)."""

    amount: int
    unit: str

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"

    def after(self, start: datetime, tz: ZoneInfo, sign: int = 1) -> datetime:
        """``start`` moved by this duration (business days keep the local time of day)."""
        if self.unit == "business_days":
            local = start.astimezone(tz)
            day = local.date()
            left = self.amount
            while left > 0:
                day += timedelta(days=sign)
                if day.weekday() < 5:
                    left -= 1
            if self.amount == 0:
                while day.weekday() >= 5:
                    day += timedelta(days=sign)
            return _at(day, local.timetz().replace(tzinfo=None), tz)
        delta = timedelta(**{self.unit: self.amount})
        return start + sign * delta

    def approximate(self) -> timedelta:
        if self.unit == "business_days":
            return timedelta(days=self.amount * 7 / 5)
        return timedelta(**{self.unit: self.amount})


def parse_duration(text: object) -> Duration:
    """``"3 days"``, ``"2 business days"``, ``"4h"``, ``"90 minutes"``, ``"1 week"``."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"{text!r} is not a duration (e.g. '3 days', '4 hours')")
    m = DURATION.match(str(text))
    if not m:
        raise ValueError(
            f"{text!r} is not a duration: write e.g. '3 days', '4 hours', '2 business days'"
        )
    amount, unit = int(m.group(1)), UNITS[m.group(2).lower()]
    if Duration(amount, unit).approximate() > timedelta(days=MAX_DAYS):
        raise ValueError(f"{text!r} is longer than ten years")
    return Duration(amount, unit)


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def parse_clock(text: str) -> time:
    """``9am``, ``9:30``, ``17:00``, ``5pm``."""
    m = CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day (e.g. 9am, 14:30)")
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r}: with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(hour, minute)


@dataclass(frozen=True)
class Until:
    """A time of day on a day described relative to now: ``9am next business day``."""

    clock: time
    day: str  # "next" (today if still ahead, else tomorrow), "tomorrow",
    # "next business day", or a weekday name (optionally "next <weekday>")
    text: str

    def __str__(self) -> str:
        return self.text

    def after(self, now: datetime, tz: ZoneInfo) -> datetime:
        local = now.astimezone(tz)
        today = local.date()
        if self.day == "next":
            candidate = _at(today, self.clock, tz)
            return candidate if candidate > now else _at(today + timedelta(days=1), self.clock, tz)
        if self.day == "tomorrow":
            return _at(today + timedelta(days=1), self.clock, tz)
        if self.day == "next business day":
            day = today + timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
            return _at(day, self.clock, tz)
        strict = self.day.startswith("next ")
        target = WEEKDAYS.index(self.day.removeprefix("next "))
        ahead = (target - today.weekday()) % 7
        day = today + timedelta(days=ahead)
        candidate = _at(day, self.clock, tz)
        if ahead == 0 and (strict or candidate <= now):
            candidate = _at(day + timedelta(days=7), self.clock, tz)
        return candidate


def parse_until(text: str) -> Until:
    """``9am``, ``9am next business day``, ``9:30 tomorrow``, ``monday 9am``,
    ``9am next monday`` (the leading ``until`` is optional)."""
    original = text
    words = text.strip().lower().removeprefix("until").strip()
    words = re.sub(r"\s+", " ", words.replace(" on ", " "))
    day_words = [
        "next business day",
        "next working day",
        "tomorrow",
        *(f"next {d}" for d in WEEKDAYS),
        *WEEKDAYS,
    ]
    day = "next"
    for phrase in day_words:
        if words.endswith(" " + phrase) or words.startswith(phrase + " "):
            day = phrase.replace("working", "business")
            words = words.removesuffix(" " + phrase).removeprefix(phrase + " ").strip()
            break
    try:
        clock = parse_clock(words)
    except ValueError:
        raise ValueError(
            f"{original!r} is not a time to wait for: write e.g. 'until 9am next business day', "
            "'until 14:00 tomorrow', 'until monday 9am'"
        ) from None
    return Until(clock, day, original.strip())


Wait = Duration | Until


def parse_wait(value: object) -> Wait:
    """A ``wait:`` step: a duration (``3 days``) or ``until <time> [day]``."""
    if isinstance(value, str) and value.strip().lower().startswith("until"):
        return parse_until(value)
    return parse_duration(value)


def wake_time(wait: Wait, now: datetime, tz: ZoneInfo) -> datetime:
    return wait.after(now, tz)


@dataclass(frozen=True)
class When:
    """A point in time written relative to now (``+2 business days``, ``9am tomorrow``,
    ``now``, ``today``) or absolutely (``2026-03-01``, ``2026-03-01T09:00:00+01:00``)."""

    text: str
    duration: Duration | None = None
    sign: int = 1
    until: Until | None = None
    absolute: datetime | None = None
    start_of_today: bool = False

    def resolve(self, now: datetime, tz: ZoneInfo) -> datetime:
        if self.absolute is not None:
            return self.absolute
        if self.duration is not None:
            return self.duration.after(now, tz, self.sign)
        if self.until is not None:
            return self.until.after(now, tz)
        if self.start_of_today:
            return _at(now.astimezone(tz).date(), time(0), tz)
        return now


def parse_when(value: object) -> When:
    """Parse a due date or a comparison date (see :class:`When`)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value!r} needs a time zone")
        return When(str(value), absolute=value.astimezone(UTC))
    if isinstance(value, date):
        return When(str(value), absolute=datetime.combine(value, time(0), tzinfo=UTC))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a time (e.g. '+2 business days', '9am tomorrow')")
    text = value.strip()
    low = text.lower()
    if low == "now":
        return When(text)
    if low == "today":
        return When(text, start_of_today=True)
    sign = 1
    rest = None
    if low.startswith(("+", "in ")):
        rest = low.removeprefix("+").removeprefix("in ").strip()
    elif low.startswith("-"):
        sign, rest = -1, low[1:].strip()
    elif low.endswith(" ago"):
        sign, rest = -1, low.removesuffix(" ago").strip()
    if rest is not None:
        return When(text, duration=parse_duration(rest), sign=sign)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None and ("T" in text or " " in text):
            raise ValueError(f"{text!r} needs a time zone (e.g. 2026-03-01T09:00:00+01:00)")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return When(text, absolute=parsed.astimezone(UTC))
    try:
        return When(text, until=parse_until(text))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: write e.g. '+2 business days', '+4 hours', "
            "'9am next business day' or an ISO date"
        ) from None
