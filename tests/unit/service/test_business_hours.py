"""Business-hours maths: examples a person can check by hand, then properties over random
calendars (weekends, holidays, time zones with DST changes, including half-hour ones)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kith.plugins.service.sla.calendar import (
    ALWAYS,
    BusinessCalendar,
    add_business_time,
    business_time_between,
    day_intervals,
    describe_hours,
    is_working,
    parse_hours,
)

PARIS_OFFICE = BusinessCalendar("Europe/Paris", parse_hours({"mon-fri": "09:00-18:00"}))
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- examples ---------------------------------------------------------------------------------


def test_an_hour_asked_before_opening_is_due_an_hour_after_opening():
    # Wednesday 08:47 Paris = 07:47 UTC; opens 09:00 Paris = 08:00 UTC.
    assert add_business_time(PARIS_OFFICE, utc(2026, 1, 7, 7, 47), H) == utc(2026, 1, 7, 9, 0)


def test_friday_evening_rolls_over_the_weekend_to_monday():
    friday_1730 = utc(2026, 1, 9, 16, 30)  # 17:30 Paris
    assert add_business_time(PARIS_OFFICE, friday_1730, 2 * H) == utc(2026, 1, 12, 9, 30)
    assert business_time_between(PARIS_OFFICE, friday_1730, utc(2026, 1, 12, 9, 30)) == 2 * H


def test_a_holiday_is_skipped():
    office = BusinessCalendar(
        "Europe/Paris", PARIS_OFFICE.week, frozenset({date(2026, 1, 12)})
    )  # Monday off
    friday_1730 = utc(2026, 1, 9, 16, 30)
    assert add_business_time(office, friday_1730, 2 * H) == utc(2026, 1, 13, 9, 30)


def test_a_working_day_lasts_as_long_across_daylight_saving_changes():
    # Paris springs forward on Sunday 2026-03-29 and falls back on Sunday 2026-10-25.
    weekend = BusinessCalendar("Europe/Paris", parse_hours({"sat-sun": "00:00-24:00"}))
    assert sum((b - a for a, b in day_intervals(weekend, date(2026, 3, 29))), timedelta()) == 23 * H
    assert (
        sum((b - a for a, b in day_intervals(weekend, date(2026, 10, 25))), timedelta()) == 25 * H
    )
    office = BusinessCalendar("Europe/Paris", parse_hours({"mon-sun": "09:00-17:00"}))
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        ((a, b),) = day_intervals(office, day)
        assert b - a == 8 * H
    # Opening time follows the wall clock: 08:00 UTC in winter, 07:00 UTC in summer.
    assert day_intervals(office, date(2026, 3, 28))[0][0] == utc(2026, 3, 28, 8, 0)
    assert day_intervals(office, date(2026, 3, 30))[0][0] == utc(2026, 3, 30, 7, 0)


def test_hours_inside_the_spring_gap_are_empty_and_ambiguous_ends_take_the_first_occurrence():
    night = BusinessCalendar("Europe/Paris", parse_hours({"sun": ["01:00-02:30", "02:30-04:00"]}))
    (first, second) = day_intervals(night, date(2026, 3, 29))
    # 02:30 does not exist that night: both intervals meet at the jump (01:00 UTC).
    assert first == (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0))
    assert second == (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0))
    autumn = day_intervals(night, date(2026, 10, 25))
    assert autumn[0] == (utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 30))


def test_hours_are_parsed_and_described_back():
    week = parse_hours({"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat": "10:00-12:00"})
    assert describe_hours(week) == {
        **{d: ["09:00-12:30", "13:30-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "sat": ["10:00-12:00"],
    }


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({}, "needs working hours"),
        ({"mon": "18:00-09:00"}, "ends before it starts"),
        ({"mon": "9-5"}, "not like 09:00-17:00"),
        ({"funday": "09:00-17:00"}, "not a day"),
        ({"fri-mon": "09:00-17:00"}, "goes forward"),
        ({"mon": ["09:00-13:00", "12:00-17:00"]}, "overlap"),
        ({"mon": "09:00-24:30"}, "not a time of day"),
    ],
)
def test_nonsense_hours_are_refused_with_the_reason(spec, reason):
    with pytest.raises(ValueError, match=reason):
        parse_hours(spec)


def test_zero_and_negative_amounts_add_nothing():
    start = utc(2026, 1, 10, 12, 0)  # a Saturday
    assert add_business_time(PARIS_OFFICE, start, timedelta(0)) == start
    assert add_business_time(PARIS_OFFICE, start, -H) == start
    assert business_time_between(PARIS_OFFICE, start, start - H) == timedelta(0)


# ---- properties --------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  # half-hour DST shift
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
]
YEAR_START = utc(2026, 1, 1)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    week = []
    for _ in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        cuts = [c * 15 for c in cuts]
        day = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
        week.append(tuple(day))
    if not any(week):
        week[draw(st.integers(0, 6))] = ((9 * 60, 17 * 60),)
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=40))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), tuple(week), holidays)


# starts at any minute of the year (DST changes included), amounts up to a few days
starts = st.integers(0, 365 * 24 * 60).map(lambda m: YEAR_START + timedelta(minutes=m))
amounts = st.integers(0, 5 * 24 * 60).map(lambda m: timedelta(minutes=m))
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(calendars(), starts, amounts)
def test_adding_business_time_then_measuring_it_gives_it_back(cal, start, amount):
    end = add_business_time(cal, start, amount)
    assert end >= start
    assert business_time_between(cal, start, end) == amount


@FAST
@given(calendars(), starts, amounts, amounts)
def test_adding_in_two_steps_is_adding_the_sum(cal, start, a, b):
    assert add_business_time(cal, add_business_time(cal, start, a), b) == add_business_time(
        cal, start, a + b
    )


@FAST
@given(calendars(), starts, amounts, amounts)
def test_more_business_time_is_never_earlier(cal, start, a, b):
    small, large = sorted((a, b))
    assert add_business_time(cal, start, small) <= add_business_time(cal, start, large)


@FAST
@given(calendars(), starts, amounts)
def test_a_due_time_lies_in_working_time_or_ends_an_interval(cal, start, amount):
    if amount <= timedelta(0):
        return
    end = add_business_time(cal, start, amount)
    assert is_working(cal, end - timedelta(microseconds=1))


@FAST
@given(calendars(), starts, amounts, amounts)
def test_measuring_is_additive_and_never_more_than_wall_time(cal, start, a, b):
    mid = start + a
    end = mid + b
    total = business_time_between(cal, start, end)
    assert total == business_time_between(cal, start, mid) + business_time_between(cal, mid, end)
    assert timedelta(0) <= total <= end - start


@settings(max_examples=40, deadline=None)
@given(
    calendars(), st.integers(0, 365 * 24 * 4).map(lambda q: YEAR_START + timedelta(minutes=15 * q))
)
def test_measuring_agrees_with_counting_minute_by_minute(cal, start):
    end = start + timedelta(hours=30)
    minutes = 0
    t = start
    while t < end:
        minutes += is_working(cal, t)
        t += timedelta(minutes=1)
    assert business_time_between(cal, start, end) == timedelta(minutes=minutes)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(ZONES), starts, amounts)
def test_around_the_clock_counts_real_time_whatever_the_zone(zone, start, amount):
    cal = BusinessCalendar(zone, ALWAYS.week)
    assert add_business_time(cal, start, amount) == start + amount
    assert business_time_between(cal, start, start + amount) == amount


@settings(max_examples=80, deadline=None)
@given(calendars(), starts, amounts)
def test_a_holiday_only_ever_pushes_a_due_time_later(cal, start, amount):
    day = (start + amount).astimezone(cal.zone).date()
    with_holiday = BusinessCalendar(cal.time_zone, cal.week, cal.holidays | {day})
    assert add_business_time(with_holiday, start, amount) >= add_business_time(cal, start, amount)
