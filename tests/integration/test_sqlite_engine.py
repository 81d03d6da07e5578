"""The SQLite engine runs a transaction on the event loop, and moves to its thread whatever
could stall the loop: a busy write lock, a long SELECT, WAL checkpoints."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from kith.db import sqlite as engine
from kith.db.sqlite import SQLiteDatabase


@pytest.fixture
async def db(tmp_path: Path):
    database = SQLiteDatabase(str(tmp_path / "engine.db"), readers=1)
    await database.open()
    await database.execute_script(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE);"
    )
    yield database
    await database.close()


async def count(db: SQLiteDatabase) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM notes")
    assert row is not None
    return int(row["n"])


async def test_a_long_select_inside_a_transaction_finishes_in_the_thread(db, monkeypatch):
    monkeypatch.setattr(engine, "INLINE_STEPS", 50)
    await db.close()  # the budget is set when the writer connects
    await db.open()
    moved = []
    real = engine._Connection.fetch_waiting
    monkeypatch.setattr(
        engine._Connection,
        "fetch_waiting",
        lambda self, sql, params: (moved.append(sql), real(self, sql, params))[1],
    )
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO notes (body) VALUES (?)", ["kept"])
        rows = await tx.fetch(
            "SELECT COUNT(*) AS c FROM notes, (WITH RECURSIVE n(i) AS "
            "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i FROM n)"
        )
        assert rows == [{"c": 5000}]
        assert len(moved) == 1  # interrupted on the loop, finished in the thread
    assert await count(db) == 1  # and the interruption did not roll the insert back


async def test_a_write_waits_for_another_process_without_blocking_the_loop(db):
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (body) VALUES (?)", ["after the wait"])

    tick = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # still waiting for the other process's lock...
    assert ticks >= 10  # ...while the loop kept running
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    tick.cancel()
    other.close()
    assert await count(db) == 1


async def test_a_failed_transaction_writes_nothing_and_the_next_one_works(db):
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (body) VALUES (?)", ["twice"])
            tx.defer("INSERT INTO notes (body) VALUES (?)", ["twice"])  # fails at commit
    assert await count(db) == 0
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO notes (body) VALUES (?)", ["once"])
    assert await count(db) == 1


async def test_a_cancelled_transaction_is_rolled_back(db):
    started = asyncio.Event()

    async def slow() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (body) VALUES (?)", ["cancelled"])
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO notes (body) VALUES (?)", ["next"])
    rows = await db.fetch("SELECT body FROM notes")
    assert rows == [{"body": "next"}]


async def test_the_wal_is_checkpointed_in_the_background(db, monkeypatch):
    monkeypatch.setattr(engine, "CHECKPOINT_CHANGES", 10)
    done = []
    real = engine._Connection.checkpoint
    monkeypatch.setattr(
        engine._Connection, "checkpoint", lambda self: (real(self), done.append(self.role))
    )
    for i in range(25):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (body) VALUES (?)", [f"note {i}"])
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert done and set(done) == {"checkpointer"}
