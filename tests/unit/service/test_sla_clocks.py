"""SLA clocks: pauses and priority changes, as properties over random histories.

A clock's due time must be the moment at which the business time it counted *while running*
reaches its target — whatever pauses happened, and whatever target it has now (a priority
change applies from the ticket's start)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from kith.plugins.service.sla.calendar import BusinessCalendar, business_time_between, parse_hours
from kith.plugins.service.sla.clocks import Clock, dump_clocks, load_clocks, new_clocks, sync

PARIS = BusinessCalendar("Europe/Paris", parse_hours({"mon-fri": ["09:00-12:30", "13:30-18:00"]}))
NEW_YORK = BusinessCalendar("America/New_York", parse_hours({"mon-sat": "08:00-20:00"}))
START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # spans the US and EU DST changes in March


def simulate(cal, target, steps):
    """Run a clock through (gap, pause?) steps; return it and its running spans."""
    clock = Clock("resolution", target=target)
    clock.start(START)
    clock.resume(START)
    at, spans, since = START, [], START
    for gap, paused in steps:
        at += gap
        if paused and clock.running:
            clock.pause(cal, at)
            spans.append((since, at))
        elif not paused and not clock.running:
            clock.resume(at)
            since = at
    return clock, spans, at


histories = st.lists(
    st.tuples(st.integers(1, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)), st.booleans()),
    max_size=8,
)
targets = st.integers(1, 40 * 60).map(lambda m: timedelta(minutes=m))
cals = st.sampled_from([PARIS, NEW_YORK])


@settings(max_examples=60, deadline=None)
@given(cals, targets, histories)
def test_business_time_counted_while_running_reaches_the_target_at_the_due_time(cal, target, steps):
    clock, spans, at = simulate(cal, target, steps)
    if not clock.running:
        assert clock.due_at(cal) is None  # paused: no due time
        clock.resume(at)
        spans_open_from = at
    else:
        spans_open_from = clock.running_since
    due = clock.due_at(cal)
    counted = sum((business_time_between(cal, a, b) for a, b in spans), timedelta())
    if counted >= target:
        assert due == clock.running_since  # already overdue: due at once
    else:
        assert counted + business_time_between(cal, spans_open_from, due) == target


@settings(max_examples=60, deadline=None)
@given(cals, targets, targets, histories)
def test_a_priority_change_moves_the_due_time_as_if_the_new_target_applied_from_the_start(
    cal, old_target, new_target, steps
):
    changed, _, _ = simulate(cal, old_target, steps)
    changed.target = new_target
    fresh, _, _ = simulate(cal, new_target, steps)
    assert changed.due_at(cal) == fresh.due_at(cal)
    assert changed.warn_at(cal, 0.75) == fresh.warn_at(cal, 0.75)


@settings(max_examples=60, deadline=None)
@given(cals, targets, histories, st.integers(0, 5 * 24 * 60))
def test_remaining_time_is_the_target_less_what_was_counted(cal, target, steps, later):
    clock, _, at = simulate(cal, target, steps)
    now = at + timedelta(minutes=later)
    assert clock.remaining(cal, now) == target - clock.counted(cal, now)
    if clock.running and clock.remaining(cal, now) > timedelta(0):
        assert clock.due_at(cal) > now


@settings(max_examples=60, deadline=None)
@given(targets, histories, st.integers(0, 3 * 24 * 60))
def test_switching_calendars_keeps_what_was_counted(target, steps, later):
    clock, _, at = simulate(PARIS, target, steps)
    now = at + timedelta(minutes=later)
    before = clock.counted(PARIS, now)
    clock.rebase(PARIS, now)
    assert clock.counted(NEW_YORK, now) == before


def test_pending_pauses_next_response_and_resolution_but_not_first_response():
    clocks = new_clocks()
    for metric in clocks:
        clocks[metric].start(START)
    sync(clocks, PARIS, "open", START)
    later = START + timedelta(hours=2)
    sync(clocks, PARIS, "pending", later)
    assert [clocks[m].running for m in ("first_response", "next_response", "resolution")] == [
        True,
        False,
        False,
    ]
    sync(clocks, PARIS, "solved", later)
    assert not any(c.running for c in clocks.values())


def test_clocks_survive_storage_exactly():
    clocks = new_clocks()
    clocks["resolution"].target = timedelta(hours=8)
    clocks["resolution"].start(START)
    clocks["resolution"].resume(START + timedelta(seconds=1, microseconds=7))
    clocks["resolution"].pause(PARIS, START + timedelta(hours=3, microseconds=3))
    assert load_clocks(dump_clocks(clocks)) == clocks
