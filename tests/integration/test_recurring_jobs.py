"""Recurring jobs: a plugin declares a cron expression; each occurrence is stored as a job
before it is due, so it survives restarts and runs once, however many schedulers run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import kith
import pytest
from kith.testing import count_rows

runs: list[str] = []


@kith.job("test.nightly_decay", cron="0 2 * * *")
async def nightly_decay(ctx, payload):
    """Decay lead scores every night at 02:00 UTC."""
    runs.append(payload["scheduled_for"])
    await ctx.run("task.create", {"title": f"decay {payload['scheduled_for']}"})


class Plugin:
    @kith.hookimpl
    def kith_jobs(self):
        return [nightly_decay]


@pytest.fixture
def kith_plugins():
    runs.clear()
    return [("scores", Plugin())]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


async def scheduled(kith_app) -> list[str]:
    rows = await kith_app.db.fetch(
        'SELECT "key" FROM "jobs" WHERE "status" = \'scheduled\' ORDER BY "run_at"'
    )
    return [r["key"] for r in rows]


@pytest.mark.usefixtures("kith_runner")
async def test_a_nightly_job_runs_once_a_night_and_once_after_an_outage(kith_app, run_jobs, clock):
    assert await run_jobs() == 0  # Monday 09:00: the next night is stored, not run
    assert await scheduled(kith_app) == ["cron:test.nightly_decay:2026-01-06T02:00:00+00:00"]

    clock.set(at(6, 2))
    assert await run_jobs() == 1
    assert runs == ["2026-01-06T02:00:00+00:00"]
    assert await scheduled(kith_app) == ["cron:test.nightly_decay:2026-01-07T02:00:00+00:00"]
    assert await run_jobs() == 0  # never twice

    clock.set(at(9, 9))  # Kith was down three nights: the stored night runs once, late
    assert await run_jobs() == 1
    assert runs == ["2026-01-06T02:00:00+00:00", "2026-01-07T02:00:00+00:00"]
    assert await scheduled(kith_app) == ["cron:test.nightly_decay:2026-01-10T02:00:00+00:00"]
    assert await count_rows(kith_app, "tasks") == 2


async def test_two_schedulers_run_each_night_once(
    kith_app, run_jobs, clock, kith_db_url, kith_plugins
):
    other = kith.Kith(
        kith.Settings(database_url=kith_db_url, plugins_file="/nonexistent"),
        clock=clock,
        extra_plugins=kith_plugins,
    )
    async with other:
        for day in (6, 7, 8):
            clock.set(at(day - 1, 12))
            await asyncio.gather(kith_app.jobs.run_due(), other.jobs.run_due())
            clock.set(at(day, 2))
            await asyncio.gather(kith_app.jobs.run_due(), other.jobs.run_due())
            await asyncio.gather(kith_app.drain(), other.drain())
    assert sorted(runs) == [f"2026-01-0{d}T02:00:00+00:00" for d in (6, 7, 8)]
    keys = await kith_app.db.fetch('SELECT "key", COUNT(*) AS n FROM "jobs" GROUP BY "key"')
    assert all(r["n"] == 1 for r in keys)


def test_a_cron_expression_is_read_in_its_time_zone():
    @kith.job("test.weekly", cron="0 9 * * mon", timezone="Europe/Paris")
    async def weekly(ctx, payload):
        """Monday 09:00 in Paris."""

    # Monday 2026-01-05 10:00 in Paris has passed 09:00: next Monday, 08:00 UTC
    assert weekly.next_occurrence(at(5, 9)) == at(12, 8)


@pytest.mark.parametrize(
    ("cron", "timezone", "message"),
    [
        ("0 25 * * *", "UTC", "not a five-field cron expression"),
        ("every night", "UTC", "not a five-field cron expression"),
        ("0 2 * * * *", "UTC", "not a five-field cron expression"),
        ("0 2 * * *", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_a_bad_schedule_is_refused_when_the_plugin_loads(cron, timezone, message):
    with pytest.raises(ValueError, match=message):
        kith.job("test.bad", cron=cron, timezone=timezone)
