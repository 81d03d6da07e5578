"""Event delivery: a plugin that fails on an event gets it again (as a job, alone); events a
crashed process left undelivered are relayed, in outbox order. At least once, so handlers
are idempotent on ``event.id``."""

from __future__ import annotations

import uuid

import kith
import pytest
from kith.testing import count_rows


class Flaky:
    """Syncs new contacts to a CRM that is down for the first ``down`` attempts."""

    def __init__(self) -> None:
        self.down = 1
        self.attempts: dict[str, int] = {}
        self.synced: set[str] = set()

    @kith.hookimpl
    async def kith_on_event(self, event, kith):
        if event.name != "contact.created":
            return
        n = self.attempts[event.id] = self.attempts.get(event.id, 0) + 1
        if n <= self.down:
            raise RuntimeError("crm sync is down")
        if event.id in self.synced:  # idempotent on event.id
            return
        self.synced.add(event.id)
        await kith.run("task.create", {"title": f"synced {event.entity_id}"}, system_actor())


def system_actor():
    return kith.SYSTEM


class Steady:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict]] = []

    @kith.hookimpl
    def kith_on_event(self, event):
        self.seen.append((event.id, event.name, event.data))


@pytest.fixture
def flaky():
    return Flaky()


@pytest.fixture
def steady():
    return Steady()


@pytest.fixture
def kith_plugins(flaky, steady):
    return [("flaky", flaky), ("steady", steady)]


async def jobs(kith_app):
    return await kith_app.db.fetch('SELECT * FROM "jobs" ORDER BY "id"')


@pytest.mark.usefixtures("kith_runner")
async def test_a_failing_plugin_gets_the_event_again_alone_and_the_command_succeeds(
    kith_app, run_command, run_jobs, clock, flaky, steady
):
    contact = await run_command("contact.create", {"name": "Jane"})  # no error for the user
    event_id = next(i for i, name, _ in steady.seen if name == "contact.created")
    assert flaky.attempts == {event_id: 1}
    (job,) = await jobs(kith_app)
    assert job["name"] == "kith.redeliver"
    assert job["key"] == f"event:{event_id}:flaky"
    assert "crm sync is down" in job["last_error"]

    clock.advance(seconds=10)
    assert await run_jobs() == 1
    assert flaky.attempts == {event_id: 2}
    assert [name for _, name, _ in steady.seen].count("contact.created") == 1  # not again
    tasks = await kith_app.db.fetch('SELECT "title" FROM "tasks"')
    assert [t["title"] for t in tasks] == [f"synced {contact.id}"]
    assert (await jobs(kith_app))[0]["status"] == "done"


async def test_a_plugin_that_keeps_failing_ends_in_a_dead_job_that_an_admin_retries(
    kith_app, run_command, run_jobs, clock, flaky
):
    flaky.down = 100
    await run_command("contact.create", {"name": "Jane"})
    for _ in range(8):  # kith.redeliver makes 8 attempts, backing off up to ~40 min
        clock.advance(hours=1)
        await run_jobs()
    (job,) = await jobs(kith_app)
    assert (job["status"], job["attempts"]) == ("dead", 8)
    assert "crm sync is down" in job["last_error"]

    flaky.down = 0  # the CRM is back
    retried = await run_command("job.retry", {"job": job["id"]})
    assert retried.status == "scheduled"
    assert await run_jobs() == 1
    assert (await jobs(kith_app))[0]["status"] == "done"
    assert await count_rows(kith_app, "tasks") == 1


async def test_one_redelivery_per_event_and_plugin_even_when_it_fails_again(
    kith_app, run_command, flaky
):
    """The relay may deliver an event again to every plugin: the failing one still has one
    pending redelivery, not two."""
    from kith.delivery import event_from_row

    flaky.down = 100
    await run_command("contact.create", {"name": "Jane"})
    row = await kith_app.db.fetchone('SELECT * FROM "outbox_events" ORDER BY "id" LIMIT 1')
    event = event_from_row(kith_app.db.statements.codec(kith.tables.OutboxEvent).decode(row))
    kith_app.dispatcher.submit([event])
    await kith_app.drain()
    assert len(await jobs(kith_app)) == 1


async def test_events_a_crashed_process_left_undelivered_are_relayed_in_order(
    kith_app, run_jobs, clock, steady
):
    """A process committed three changes of one deal and died before delivering them."""
    db = kith_app.db
    codec = db.statements.codec(kith.tables.OutboxEvent)
    cols = ["event_id", "name", "entity", "entity_id", "actor", "at", "data"]
    cols += ["claimed_by", "claimed_at"]
    ids = [uuid.uuid4().hex for _ in range(3)]
    async with db.transaction() as tx:
        for n, event_id in enumerate(ids, 1):
            values = [event_id, "deal.stage_changed", "deal", 42, "user:1", clock.now()]
            values += [{"step": n}, "dead-process", clock.now()]
            await tx.execute(
                db.statements.insert(kith.tables.OutboxEvent, cols, returning=False),
                [codec.encode(c, v) for c, v in zip(cols, values, strict=True)],
            )
    await run_jobs()
    assert steady.seen == []  # that process may still be delivering them: wait for its lease
    clock.advance(seconds=kith_app.settings.event_lease_s + 1)
    await run_jobs()
    assert [(i, d["step"]) for i, _, d in steady.seen] == list(zip(ids, [1, 2, 3], strict=True))
    await run_jobs()
    clock.advance(minutes=5)
    await run_jobs()
    assert len(steady.seen) == 3  # delivered, marked: never again
    undelivered = await db.fetch('SELECT "id" FROM "outbox_events" WHERE "dispatched_at" IS NULL')
    assert undelivered == []


async def test_the_relay_leaves_alone_events_its_own_process_is_delivering(
    kith_app, run_jobs, clock, steady, flaky
):
    flaky.down = 0
    db = kith_app.db
    await kith_app.run("contact.create", {"name": "Jane"}, kith.SYSTEM)
    await kith_app.drain()
    await db.execute_script(
        'UPDATE "outbox_events" SET "dispatched_at" = NULL WHERE "name" = \'contact.created\''
    )
    (row,) = await db.fetch(
        'SELECT "event_id" FROM "outbox_events" WHERE "name" = \'contact.created\''
    )
    kith_app.dispatcher.in_flight.add(row["event_id"])  # still queued in this process
    steady.seen.clear()
    clock.advance(hours=1)
    await run_jobs()
    assert steady.seen == []
    kith_app.dispatcher.in_flight.clear()
    await run_jobs()
    assert [name for _, name, _ in steady.seen] == ["contact.created"]
