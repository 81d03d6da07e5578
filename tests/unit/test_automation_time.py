"""Time as automations write it: durations, business days, "until 9am next business day",
relative due dates and cron schedules."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from kith.automations.cron import parse_cron
from kith.automations.timeexpr import parse_duration, parse_wait, parse_when

UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FRIDAY_17 = datetime(2026, 1, 9, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, amount, unit",
    [
        ("3 days", 3, "days"),
        ("1 day", 1, "days"),
        ("4h", 4, "hours"),
        ("90 minutes", 90, "minutes"),
        ("2 business days", 2, "business_days"),
        ("1 Working Day", 1, "business_days"),
        ("2 weeks", 2, "weeks"),
    ],
)
def test_durations_read_the_way_people_write_them(text, amount, unit):
    d = parse_duration(text)
    assert (d.amount, d.unit) == (amount, unit)


@pytest.mark.parametrize("text", ["3 fortnights", "soon", "", "-2 days", "99999 days", True])
def test_what_is_not_a_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_business_days_skip_the_weekend_and_keep_the_time_of_day():
    assert parse_duration("2 business days").after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 7, 9, 0, tzinfo=UTC
    )
    assert parse_duration("1 business day").after(FRIDAY_17, UTC_ZONE) == datetime(
        2026, 1, 12, 17, 0, tzinfo=UTC
    )


def test_wait_until_9am_next_business_day_is_in_the_automations_time_zone():
    wait = parse_wait("until 9am next business day")
    # Friday 17:00 UTC → Monday 09:00 in Paris = 08:00 UTC
    assert wait.after(FRIDAY_17, PARIS) == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    assert parse_wait("until 9am").after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 6, 9, 0, tzinfo=UTC
    )
    assert parse_wait("until 14:30").after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 5, 14, 30, tzinfo=UTC
    )
    assert parse_wait("until monday 10am").after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 5, 10, 0, tzinfo=UTC
    )
    assert parse_wait("until 10am next monday").after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 12, 10, 0, tzinfo=UTC
    )
    assert parse_wait("until 5pm tomorrow").after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 6, 17, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["until lunch", "until 25:00", "until 13pm", "until 9am someday"])
def test_a_wait_that_does_not_say_when_is_refused(text):
    with pytest.raises(ValueError):
        parse_wait(text)


def test_relative_and_absolute_due_dates():
    assert parse_when("+4 hours").resolve(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 5, 13, 0, tzinfo=UTC
    )
    assert parse_when("in 2 business days").resolve(FRIDAY_17, UTC_ZONE) == datetime(
        2026, 1, 13, 17, 0, tzinfo=UTC
    )
    assert parse_when("3 days ago").resolve(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 2, 9, 0, tzinfo=UTC
    )
    assert parse_when("9am next business day").resolve(FRIDAY_17, UTC_ZONE) == datetime(
        2026, 1, 12, 9, 0, tzinfo=UTC
    )
    assert parse_when("2026-03-01").resolve(MONDAY_9, UTC_ZONE) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_when("today").resolve(MONDAY_9, PARIS) == datetime(2026, 1, 4, 23, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_when("2026-03-01T09:00:00")  # a time without a zone


def test_cron_finds_the_next_weekday_morning_in_its_time_zone():
    cron = parse_cron("0 9 * * mon-fri")
    assert cron.next_after(FRIDAY_17, PARIS) == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    assert parse_cron("*/15 * * * *").next_after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 5, 9, 15, tzinfo=UTC
    )
    assert parse_cron("@daily").next_after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 1, 6, 0, 0, tzinfo=UTC
    )
    assert parse_cron("0 8 1 * *").next_after(MONDAY_9, UTC_ZONE) == datetime(
        2026, 2, 1, 8, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text", ["0 9 * *", "61 * * * *", "0 9 * * funday", "0 0 31 2 *", "*/0 * * * *", 5]
)
def test_a_bad_cron_expression_is_refused(text):
    with pytest.raises(ValueError):
        parse_cron(text)
