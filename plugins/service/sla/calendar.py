"""Business hours: pure functions over a calendar (time zone, weekly hours, holidays).

A calendar says, for each weekday, the local wall-clock intervals people work
(``09:00-12:30, 13:30-18:00``), and which local dates are holidays. Everything here works on
timezone-aware UTC instants and is exact to the microsecond (``timedelta`` arithmetic, never
floats).

Daylight saving time, precisely: an interval's ends are local wall times converted with the
calendar's zone. An end that falls in a spring-forward gap (02:30 on a day clocks jump from
02:00 to 03:00) is the instant of the jump; an end that occurs twice in the autumn (02:30 on
a day clocks go back) is its first occurrence. So a 09:00-17:00 day is always 8 hours, a
00:00-24:00 day is 23 or 25 hours on change days, and an interval inside a gap is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

Interval = tuple[int, int]  # minutes from local midnight, 0 <= start < end <= 1440
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZERO = timedelta(0)
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class BusinessCalendar:
    """Working intervals per weekday (Monday first) in ``time_zone``, minus ``holidays``."""

    time_zone: str
    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_week(self.week)
        ZoneInfo(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def check_week(week: tuple[tuple[Interval, ...], ...]) -> None:
    """Refuse a week that is not 7 days of sorted, non-overlapping intervals with some work."""
    if len(week) != 7:
        raise ValueError("a week has 7 days")
    for name, intervals in zip(DAYS, week, strict=True):
        previous_end = -1
        for start, end in intervals:
            if not 0 <= start < end <= 1440:
                raise ValueError(f"{name}: {fmt(start)}-{fmt(end)} is not an interval of a day")
            if start < previous_end:
                raise ValueError(f"{name}: intervals overlap or are out of order")
            previous_end = end
    if not any(week):
        raise ValueError("a calendar needs working hours on at least one day")


def fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hours(spec: dict[str, str | list[str]]) -> tuple[tuple[Interval, ...], ...]:
    """``{"mon-fri": "09:00-17:00", "sat": ["10:00-12:00"]}`` → a week of intervals.

    Keys are days (``mon`` … ``sun``) or ranges (``mon-fri``); values one interval or a
    list. ``24:00`` ends a day; a night shift is two intervals (``22:00-24:00`` on one day,
    ``00:00-06:00`` on the next). Raises ``ValueError`` naming the key at fault.
    """
    week: list[list[Interval]] = [[] for _ in DAYS]
    for key, value in spec.items():
        days = _days(key)
        for text in [value] if isinstance(value, str) else value:
            m = _HHMM.match(text)
            if not m:
                raise ValueError(f"{key}: {text!r} is not like 09:00-17:00")
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
                raise ValueError(f"{key}: {text!r} is not a time of day")
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if end <= start:
                raise ValueError(
                    f"{key}: {text!r} ends before it starts (split a night shift in two days)"
                )
            for d in days:
                week[d].append((start, end))
    out = tuple(tuple(sorted(day)) for day in week)
    check_week(out)
    return out


def _days(key: str) -> list[int]:
    parts = [p.strip().lower()[:3] for p in key.split("-")]
    if any(p not in DAYS for p in parts) or len(parts) > 2:
        raise ValueError(f"{key!r} is not a day or a range of days (mon, tue-fri)")
    first, last = DAYS.index(parts[0]), DAYS.index(parts[-1])
    if last < first:
        raise ValueError(f"{key!r}: a range goes forward (mon-fri)")
    return list(range(first, last + 1))


ALWAYS = BusinessCalendar("UTC", (((0, 1440),),) * 7)
"""Around the clock: what a ticket counts in when no calendar applies."""


def describe_hours(week: tuple[tuple[Interval, ...], ...]) -> dict[str, list[str]]:
    """The inverse of :func:`parse_hours`, one key per working day."""
    return {
        name: [f"{fmt(s)}-{fmt(e)}" for s, e in intervals]
        for name, intervals in zip(DAYS, week, strict=True)
        if intervals
    }


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` + ``minute`` (see the module doc for DST)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a spring-forward gap: the instant of the jump is the earliest instant whose local
    # time is past ``naive``; it lies between the two readings of ``naive``.
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).replace(tzinfo=None) > naive:
            hi = mid
        else:
            lo = mid
    return hi


@lru_cache(maxsize=8192)
def day_intervals(cal: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The working intervals of local date ``day`` as UTC instants (none on a holiday)."""
    if day in cal.holidays:
        return ()
    zone = cal.zone
    out: list[tuple[datetime, datetime]] = []
    for start, end in cal.week[day.weekday()]:
        a, b = _instant(day, start, zone), _instant(day, end, zone)
        if b > a:
            out.append((a, b))
    return tuple(out)


def _local_day(cal: BusinessCalendar, at: datetime) -> date:
    return at.astimezone(cal.zone).date()


def _search_limit(cal: BusinessCalendar, start_day: date) -> date:
    # Past the last holiday, every week has working time (check_week): two weeks suffice.
    last = max(cal.holidays, default=start_day)
    return max(last, start_day) + timedelta(days=15)


def add_business_time(cal: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which ``amount`` of business time has passed since ``start``.

    ``amount <= 0`` returns ``start``. A result always lies inside working time (or at the
    end of an interval), so ``business_time_between(cal, start, result) == amount``.
    """
    if amount <= ZERO:
        return start
    remaining = amount
    day = _local_day(cal, start)
    limit = _search_limit(cal, day)
    while True:
        for a, b in day_intervals(cal, day):
            if b <= start:
                continue
            a = max(a, start)
            available = b - a
            if remaining <= available:
                return a + remaining
            remaining -= available
        day += timedelta(days=1)
        if day > limit:
            limit = _search_limit(cal, day)


def business_time_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time in ``[start, end)``; zero when ``end <= start``."""
    if end <= start:
        return ZERO
    total = ZERO
    day = _local_day(cal, start)
    last_day = _local_day(cal, end)
    while day <= last_day:
        for a, b in day_intervals(cal, day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def is_working(cal: BusinessCalendar, at: datetime) -> bool:
    """Whether ``at`` lies inside a working interval."""
    return any(a <= at < b for a, b in day_intervals(cal, _local_day(cal, at)))
