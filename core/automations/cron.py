"""Five-field cron expressions (``minute hour day-of-month month day-of-week``).

``*``, lists (``1,15``), ranges (``mon-fri``), steps (``*/15``, ``8-18/2``) and month and day
names. As in classic cron, when both day fields are restricted a day matching either runs.
Times are wall-clock times in the automation's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
FIELDS = [
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
]
ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0"}


def _value(text: str, low: int, names: list[str] | None, label: str) -> int:
    t = text.lower()
    if names and t[:3] in names and not t.isdigit():
        return names.index(t[:3]) + (1 if names is MONTHS else 0)
    if not t.isdigit():
        raise ValueError(f"{label}: {text!r} is not a number")
    return int(t)


def _field(text: str, low: int, high: int, names: list[str] | None, label: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{label}: bad step {step_text!r}")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, low, names, label), _value(b, low, names, label)
        else:
            start = end = _value(part, low, names, label)
            if step != 1:
                end = high
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{label}: {part!r} is outside {low}-{high}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def next_after(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The first time strictly after ``now`` that matches (UTC)."""
        local = now.astimezone(tz).replace(second=0, microsecond=0, tzinfo=None)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        day = local.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        candidate = datetime.combine(day.date(), time(h, m), tzinfo=tz)
                        if candidate.astimezone(UTC) > now:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError(f"cron {self.text!r} never fires")


def parse_cron(text: object) -> Cron:
    """Parse ``"0 9 * * mon-fri"`` (or ``@daily``, ``@hourly``, ``@weekly``)."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a cron expression (e.g. '0 9 * * mon-fri')")
    source = ALIASES.get(text.strip().lower(), text.strip())
    parts = source.split()
    if len(parts) != 5:
        raise ValueError(
            f"{text!r} is not a cron expression: give 5 fields, minute hour day month weekday "
            "(e.g. '0 9 * * mon-fri')"
        )
    sets = [
        _field(p, lo, hi, names, label)
        for p, (label, lo, hi, names) in zip(parts, FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(
        text.strip(), sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*"
    )
    cron.next_after(datetime(2026, 1, 1, tzinfo=UTC), ZoneInfo("UTC"))  # e.g. 30 feb: never
    return cron
