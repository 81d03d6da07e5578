"""SLA clocks: pure state and transitions (no database, no I/O).

A ticket has up to three clocks — ``first_response``, ``next_response``, ``resolution`` —
each counting business time (see :mod:`.calendar`) against a target. A clock is *active*
from the moment it starts until it is met; while active it is *running* or *paused*. It
keeps the business time it counted before its last resume (``elapsed``), so::

    due = add_business_time(calendar, running_since, target - elapsed)

Pausing adds the business time since ``running_since`` to ``elapsed``. Changing the target
(a priority change) therefore moves the due time as if the new target had applied since the
clock started, pauses included; changing the calendar first banks the time counted so far in
the old calendar (:meth:`Clock.rebase`) and counts the rest in the new one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from .calendar import ZERO, BusinessCalendar, add_business_time, business_time_between

METRICS = ("first_response", "next_response", "resolution")
LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}
# The statuses in which each clock counts (pending pauses next response and resolution;
# solved and closed pause everything).
RUNS_IN: dict[str, frozenset[str]] = {
    "first_response": frozenset({"new", "open", "pending"}),
    "next_response": frozenset({"new", "open"}),
    "resolution": frozenset({"new", "open"}),
}


@dataclass
class Clock:
    """One SLA clock of one ticket."""

    metric: str
    target: timedelta | None = None  # None: the policy sets no target for this priority
    active: bool = False
    started_at: datetime | None = None
    elapsed: timedelta = ZERO
    running_since: datetime | None = None
    met_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None

    # ---- transitions -----------------------------------------------------------------------
    def start(self, at: datetime) -> None:
        """Open a new cycle at ``at`` (paused until :meth:`run` says it counts)."""
        self.active = True
        self.started_at = at
        self.elapsed = ZERO
        self.running_since = None
        self.met_at = self.warned_at = self.breached_at = None

    def pause(self, cal: BusinessCalendar, at: datetime) -> None:
        if self.running_since is not None:
            self.elapsed += business_time_between(cal, self.running_since, at)
            self.running_since = None

    def resume(self, at: datetime) -> None:
        if self.active and self.running_since is None:
            self.running_since = at

    def run(self, cal: BusinessCalendar, at: datetime, counts: bool) -> None:
        """Resume or pause so that the clock runs exactly when ``counts``."""
        if counts:
            self.resume(at)
        else:
            self.pause(cal, at)

    def meet(self, cal: BusinessCalendar, at: datetime) -> None:
        """The clock's goal was reached at ``at``: it stops for good (until a new cycle)."""
        self.pause(cal, at)
        self.active = False
        self.met_at = at

    def unmeet(self) -> None:
        """Reopen a met cycle where it stopped (a solved ticket reopened)."""
        if not self.active and self.started_at is not None and self.met_at is not None:
            self.active = True
            self.met_at = None

    def rebase(self, cal: BusinessCalendar, at: datetime) -> None:
        """Bank the business time counted so far in ``cal`` (before switching calendars)."""
        if self.running_since is not None and at > self.running_since:
            self.elapsed += business_time_between(cal, self.running_since, at)
            self.running_since = at

    # ---- reading -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.active and self.running_since is not None

    @property
    def tracked(self) -> bool:
        """Active with a target: the clock can warn and breach."""
        return self.active and self.target is not None

    def due_at(self, cal: BusinessCalendar) -> datetime | None:
        """When the target is reached if the clock keeps running; None when paused."""
        if not self.tracked or self.running_since is None:
            return None
        assert self.target is not None
        return add_business_time(cal, self.running_since, self.target - self.elapsed)

    def warn_at(self, cal: BusinessCalendar, share: float) -> datetime | None:
        """When ``share`` of the target is used up, if running and not warned yet."""
        if not self.tracked or self.running_since is None or self.warned_at is not None:
            return None
        assert self.target is not None
        return add_business_time(cal, self.running_since, self.target * share - self.elapsed)

    def counted(self, cal: BusinessCalendar, now: datetime) -> timedelta:
        """Business time counted by ``now`` in this cycle."""
        extra = (
            business_time_between(cal, self.running_since, now)
            if self.running_since is not None
            else ZERO
        )
        return self.elapsed + extra

    def remaining(self, cal: BusinessCalendar, now: datetime) -> timedelta | None:
        """Business time left at ``now`` (negative when overdue); None without a target."""
        if self.target is None:
            return None
        return self.target - self.counted(cal, now)

    # ---- storage -----------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, timedelta):
                value = value.total_seconds()
            elif isinstance(value, datetime):
                value = value.isoformat()
            out[key] = value
        return out

    @classmethod
    def load(cls, data: dict[str, Any]) -> Clock:
        clock = cls(metric=data["metric"])
        for key in ("target", "elapsed"):
            if data.get(key) is not None:
                setattr(clock, key, timedelta(seconds=data[key]))
        clock.active = bool(data.get("active"))
        for key in ("started_at", "running_since", "met_at", "warned_at", "breached_at"):
            if data.get(key):
                setattr(clock, key, datetime.fromisoformat(data[key]))
        return clock


def new_clocks() -> dict[str, Clock]:
    return {m: Clock(metric=m) for m in METRICS}


def dump_clocks(clocks: dict[str, Clock]) -> dict[str, Any]:
    return {m: c.dump() for m, c in clocks.items()}


def load_clocks(data: dict[str, Any] | None) -> dict[str, Clock]:
    clocks = new_clocks()
    for metric, raw in (data or {}).items():
        if metric in clocks:
            clocks[metric] = Clock.load(raw)
    return clocks


def sync(clocks: dict[str, Clock], cal: BusinessCalendar, status: str, at: datetime) -> None:
    """Make each active clock run exactly when ``status`` lets it count."""
    for metric, clock in clocks.items():
        clock.run(cal, at, status in RUNS_IN[metric])
