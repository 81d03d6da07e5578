"""Jobs: scheduled with the command, run once when due, retried, dead, cancelled."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import kith
import pytest
from kith.testing import count_rows
from pydantic import BaseModel

calls: list[dict] = []

# Each test runs embedded on SQLite and PostgreSQL, and through Redis and RabbitMQ to a real
# dramatiq worker on PostgreSQL (see kith.testing: kith_runner).
runners = pytest.mark.usefixtures("kith_runner")


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


@kith.command("test.remind_and_forget", input=Remind, permission="tasks.write")
async def remind_and_forget(ctx, data: Remind):
    """Schedule a reminder due now and cancel it in the same transaction."""
    await ctx.schedule("test.make_task", {"contact": data.contact}, key=data.key)
    await ctx.cancel(data.key)


# gates the tests open and close (asyncio events of the test's event loop)
HOLD: dict[str, asyncio.Event] = {}


@kith.command("test.cancel_and_hold", input=CancelIn, permission="tasks.write")
async def cancel_and_hold(ctx, data: CancelIn):
    """Cancel a reminder, then keep the transaction open until the test lets go."""
    await ctx.cancel(data.key)
    HOLD["cancelled"].set()
    await HOLD["gate"].wait()


class Nothing(BaseModel):
    pass


@kith.command("test.start_long", input=Nothing, permission="tasks.write")
async def start_long(ctx, data: Nothing):
    """Schedule a long job due now."""
    await ctx.schedule("test.long", {})


@kith.job("test.make_task", max_attempts=3)
async def make_task(ctx, payload):
    calls.append(payload)
    if payload.get("fail"):
        raise RuntimeError("mail server down")
    await ctx.run("task.create", {"title": "Contact them", "contact": payload["contact"]})


@kith.job("test.long", lease=timedelta(minutes=5))
async def long_job(ctx, payload):
    """Writes its effect, then (first attempt only) works until the test releases it."""
    await ctx.run("task.create", {"title": "long job effect"})
    if ctx.job["attempts"] == 1:
        HOLD["started"].set()
        await HOLD["release"].wait()


class JobsPlugin:
    @kith.hookimpl
    def kith_commands(self):
        return [remind, cancel_reminder, remind_and_forget, cancel_and_hold, start_long]

    @kith.hookimpl
    def kith_jobs(self):
        return [make_task, long_job]


@pytest.fixture
def kith_plugins():
    calls.clear()
    HOLD.clear()
    for name in ("cancelled", "gate", "started", "release"):
        HOLD[name] = asyncio.Event()
    return [("jobs-test", JobsPlugin())]


async def until(condition, what: str, limit_s: float = 10.0) -> None:
    """Poll ``await condition()`` until true (bounded: a clear failure, never a hang)."""
    deadline = time.monotonic() + limit_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {limit_s:.0f} s waiting until {what}")
        await asyncio.sleep(0.01)


async def someone_waits_for_the_lock(kith_app) -> bool:
    """A runner is blocked behind the command's open transaction."""
    if kith_app.db.dialect == "sqlite":
        return bool(getattr(kith_app.db._lock, "_waiters", None))
    rows = await kith_app.db.fetch(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    return rows[0]["n"] > 0


async def job_rows(kith_app):
    return await kith_app.db.fetch('SELECT * FROM "jobs" ORDER BY "id"')


@runners
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


@runners
async def test_a_key_makes_scheduling_idempotent(kith_app, run_command, run_jobs, clock):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 4, "key": "c1"})
    await run_command("test.remind", {"contact": contact.id, "hours": 8, "key": "c1"})
    assert len(await job_rows(kith_app)) == 1
    clock.advance(hours=5)
    assert await run_jobs() == 0  # moved to +8h
    clock.advance(hours=3)
    assert await run_jobs() == 1


@runners
async def test_a_cancelled_job_never_fires(kith_app, run_command, run_jobs, clock):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "key": "c1"})
    await run_command("test.cancel", {"key": "c1"})
    clock.advance(days=1)
    assert await run_jobs() == 0
    assert calls == []
    assert (await job_rows(kith_app))[0]["status"] == "cancelled"


@runners
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


@runners
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


@runners
async def test_a_job_scheduled_and_cancelled_in_one_transaction_never_fires(
    kith_app, run_command, run_jobs, clock
):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind_and_forget", {"contact": contact.id, "key": "c1"})
    clock.advance(days=1)
    assert await run_jobs() == 0
    assert calls == []
    assert [j["status"] for j in await job_rows(kith_app)] == ["cancelled"]


@runners
async def test_a_job_cancelled_by_the_transaction_that_would_fire_it_never_fires(
    kith_app, run_command, admin, job_harness
):
    """The lead replies at the very moment the follow-up is due: the reply's transaction
    cancels the job while a runner is claiming it. The runner waits for that transaction
    and then finds the job cancelled."""
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0, "key": "c1"})
    if job_harness is not None:  # the id is already in the broker when the reply comes
        await asyncio.to_thread(job_harness.worker.dramatiq_worker.pause)
        assert await kith_app.scheduler.tick() == 1
    reply = asyncio.create_task(kith_app.run("test.cancel_and_hold", {"key": "c1"}, admin))
    await asyncio.wait_for(HOLD["cancelled"].wait(), 10)
    if job_harness is not None:
        await asyncio.to_thread(job_harness.worker.dramatiq_worker.resume)
        runner = asyncio.create_task(job_harness.wait_handled(1))
    else:
        runner = asyncio.create_task(kith_app.jobs.run_due())
    await until(lambda: someone_waits_for_the_lock(kith_app), "the runner waits for the lock")
    HOLD["gate"].set()
    await reply
    await runner
    assert calls == []
    assert [j["status"] for j in await job_rows(kith_app)] == ["cancelled"]
    assert await count_rows(kith_app, "tasks") == 0


@runners
@pytest.mark.kith_runners("redis", "rabbitmq")
async def test_a_job_cancelled_after_it_was_sent_to_the_broker_does_not_run(
    kith_app, run_command, job_harness
):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0, "key": "c1"})
    await asyncio.to_thread(job_harness.worker.dramatiq_worker.pause)
    assert await kith_app.scheduler.tick() == 1  # the id is in the broker
    await run_command("test.cancel", {"key": "c1"})
    await asyncio.to_thread(job_harness.worker.dramatiq_worker.resume)
    await job_harness.wait_handled(1)  # the worker got the message...
    assert calls == []  # ...and did not run the handler
    assert [j["status"] for j in await job_rows(kith_app)] == ["cancelled"]


@runners
@pytest.mark.kith_runners("redis", "rabbitmq")
async def test_a_job_id_delivered_several_times_runs_once(kith_app, run_command, job_harness):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0})
    (job,) = await job_rows(kith_app)
    assert await job_harness.worker.transport.send([job["id"]] * 3) == 3
    await job_harness.wait_handled(3)
    await job_harness.drain()
    assert len(calls) == 1
    assert await count_rows(kith_app, "tasks") == 1
    assert (await job_rows(kith_app))[0]["status"] == "done"


@pytest.mark.kith_backends("postgres")
async def test_a_heartbeat_keeps_a_long_job_from_being_taken_over(kith_app, run_command, clock):
    await run_command("test.start_long")
    running = asyncio.create_task(kith_app.jobs.run_due())
    await asyncio.wait_for(HOLD["started"].wait(), 10)
    clock.advance(minutes=4)
    assert await kith_app.jobs.renew_leases() == 1  # what the heartbeat does
    clock.advance(minutes=4)  # the first lease (5 min) is long gone
    assert await kith_app.jobs.expire_leases() == 0  # nobody takes the job over
    HOLD["release"].set()
    assert await running == 1
    (job,) = await job_rows(kith_app)
    assert (job["status"], job["attempts"]) == ("done", 1)
    assert await count_rows(kith_app, "tasks") == 1


@pytest.mark.kith_backends("postgres")
async def test_a_job_taken_over_after_its_lease_has_its_effect_once(
    kith_app, run_command, clock, kith_db_url, kith_plugins
):
    """A runner that stalls past its lease (no heartbeat: a frozen process) loses the job to
    another; when it wakes up, its work rolls back because the job is no longer its own."""
    await run_command("test.start_long")
    stalled = asyncio.create_task(kith_app.jobs.run_due())
    await asyncio.wait_for(HOLD["started"].wait(), 10)
    clock.advance(minutes=6)
    other = kith.Kith(
        kith.Settings(database_url=kith_db_url, plugins_file="/nonexistent"),
        clock=clock,
        extra_plugins=kith_plugins,
    )
    async with other:
        assert await other.jobs.run_due() == 1  # lease expired: attempt 2 runs there
    HOLD["release"].set()
    await stalled
    (job,) = await job_rows(kith_app)
    assert (job["status"], job["attempts"]) == ("done", 2)
    assert await count_rows(kith_app, "tasks") == 1  # the stalled attempt rolled back


def kith_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``kith`` command line in its own process, on the test's database."""
    env = {**os.environ, "KITH_DATABASE_URL": db_url, "KITH_PLUGINS_FILE": "/nonexistent.toml"}
    return subprocess.run(
        [sys.executable, "-c", "from kith.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@runners
async def test_kith_jobs_shows_a_dead_job_with_its_error_and_retries_it(
    kith_app, kith_db_url, run_command, run_jobs, clock
):
    contact = await run_command("contact.create", {"name": "Jane"})
    await run_command("test.remind", {"contact": contact.id, "hours": 0})
    await kith_app.db.execute_script(
        'UPDATE "jobs" SET "payload" = \'{"contact": 1, "fail": true}\''
    )
    for _ in range(3):
        clock.advance(hours=7)
        await run_jobs()
    (job,) = await job_rows(kith_app)
    assert job["status"] == "dead"

    listed = kith_cli(kith_db_url, "jobs")
    assert listed.returncode == 0, listed.stderr
    assert "test.make_task" in listed.stdout and "dead" in listed.stdout
    assert "mail server down" in listed.stdout
    shown = kith_cli(kith_db_url, "jobs", "show", str(job["id"]))
    assert "mail server down" in shown.stdout and f"kith jobs retry {job['id']}" in shown.stdout

    # the mail server is back: retried from the command line, the job runs and has its effect
    await kith_app.db.execute_script('UPDATE "jobs" SET "payload" = \'{"contact": 1}\'')
    retried = kith_cli(kith_db_url, "jobs", "retry", str(job["id"]))
    assert retried.returncode == 0, retried.stderr
    assert "scheduled again" in retried.stdout
    (job,) = await job_rows(kith_app)
    assert job["status"] == "scheduled"
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(seconds=1))
    await run_jobs()
    (job,) = await job_rows(kith_app)
    assert job["status"] == "done"
    assert await count_rows(kith_app, "tasks") == 1
