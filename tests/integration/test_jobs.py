"""Jobs: scheduled with the command, run once when due, retried, dead, cancelled."""

from __future__ import annotations

from datetime import timedelta

import kith
import pytest
from kith.testing import count_rows
from pydantic import BaseModel

calls: list[dict] = []


class Remind(BaseModel):
    contact: int
    hours: int = 4
    key: str | None = None


@kith.command("test.remind", input=Remind, permission="tasks.write")
async def remind(ctx, data: Remind):
    """Schedule a reminder task for a contact."""
    await ctx.schedule(
        "test.make_task",
        {"contact": data.contact},
        at=ctx.now() + timedelta(hours=data.hours),
        key=data.key,
    )


class CancelIn(BaseModel):
    key: str


@kith.command("test.cancel", input=CancelIn, permission="tasks.write")
async def cancel_reminder(ctx, data: CancelIn):
    """Cancel a reminder."""
    await ctx.cancel(data.key)


@kith.job("test.make_task", max_attempts=3)
async def make_task(ctx, payload):
    calls.append(payload)
    if payload.get("fail"):
        raise RuntimeError("mail server down")
    await ctx.run("task.create", {"title": "Contact them", "contact": payload["contact"]})


class JobsPlugin:
    @kith.hookimpl
    def kith_commands(self):
        return [remind, cancel_reminder]

    @kith.hookimpl
    def kith_jobs(self):
        return [make_task]


@pytest.fixture
def kith_plugins():
    calls.clear()
    return [("jobs-test", JobsPlugin())]


async def job_rows(kith_app):
    return await kith_app.db.fetch('SELECT * FROM "jobs" ORDER BY "id"')


async def test_a_job_runs_once_when_due_and_its_effect_commits_with_it(
    kith_app, run_command, run_jobs, clock, events
):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id})

    assert await run_jobs() == 0  # not due yet
    clock.advance(hours=4)
    assert await run_jobs() == 1
    assert await run_jobs() == 0  # never twice
    assert await count_rows(kith_app, "tasks") == 1
    (job,) = await job_rows(kith_app)
    assert job["status"] == "done"
    created = [e for e in events if e.name == "task.created"]
    assert created and created[0].actor == "job:test.make_task"


async def test_a_key_makes_scheduling_idempotent(kith_app, run_command, run_jobs, clock):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 4, "key": "c1"})
    await run_command("test.remind", {"contact": contact.id, "hours": 8, "key": "c1"})
    assert len(await job_rows(kith_app)) == 1
    clock.advance(hours=5)
    assert await run_jobs() == 0  # moved to +8h
    clock.advance(hours=3)
    assert await run_jobs() == 1


async def test_a_cancelled_job_never_fires(kith_app, run_command, run_jobs, clock):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "key": "c1"})
    await run_command("test.cancel", {"key": "c1"})
    clock.advance(days=1)
    assert await run_jobs() == 0
    assert calls == []
    assert (await job_rows(kith_app))[0]["status"] == "cancelled"


async def test_a_failing_job_is_retried_with_backoff_then_dead_with_its_error(
    kith_app, run_command, run_jobs, clock
):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0})
    # make the scheduled job's payload ask the handler to fail
    await kith_app.db.execute_script(
        'UPDATE "jobs" SET "payload" = \'{"contact": 1, "fail": true}\''
    )
    for _ in range(3):
        clock.advance(hours=7)  # beyond the largest backoff for 3 attempts
        await run_jobs()
    (job,) = await job_rows(kith_app)
    assert job["status"] == "dead"
    assert job["attempts"] == 3
    assert "mail server down" in job["last_error"]
    assert len(calls) == 3
    assert await count_rows(kith_app, "tasks") == 0


async def test_a_job_whose_runner_died_runs_again_after_its_lease(
    kith_app, run_command, run_jobs, clock
):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0})
    (job,) = await job_rows(kith_app)
    claimed = await kith_app.jobs.claim(job["id"])  # a runner claims it, then "dies"
    assert claimed is not None
    assert await run_jobs() == 0  # leased: nobody else runs it
    clock.advance(minutes=6)
    assert await run_jobs() == 1
    assert await count_rows(kith_app, "tasks") == 1


async def test_two_runners_never_both_claim_a_job(kith_app, run_command):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0})
    (job,) = await job_rows(kith_app)
    first = await kith_app.jobs.claim(job["id"])
    second = await kith_app.jobs.claim(job["id"])
    assert first is not None and second is None
