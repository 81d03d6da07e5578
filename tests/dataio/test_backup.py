"""Backups while Kith runs; a restored copy has every record, history row and job."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from kith import KithError
from kith.dataio.backup import backup, restore, table_rows

from .conftest import import_now


async def some_data(kith_app, run_command, admin, csv_file) -> None:
    org = await run_command("organization.create", {"name": "Initech", "domain": "initech.io"})
    await run_command(
        "contact.create", {"name": "Zoë Dupré", "email": "zoe@initech.io", "organization": org.id}
    )
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    await run_command("deal.create", {"title": "Initech — Pro", "value": "24000.50"})
    await import_now(kith_app, admin, "contacts", csv_file("hubspot_contacts_bom.csv"))
    await run_command("task.create", {"title": "Call back", "due": "2026-02-01T10:00:00+00:00"})
    async with kith_app.db.transaction() as tx:  # a job scheduled for later
        from kith.context import Context
        from kith.dataio.duplicate_commands import SCHEDULE_SPEC
        from kith.permissions import SYSTEM

        ctx = Context(kith_app, SYSTEM, SCHEDULE_SPEC, tx)
        await ctx.schedule("duplicates.scan", {}, at=kith_app.clock.now() + timedelta(days=1))
        ctx.flush()


async def all_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in id order, as plain tuples."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
        finally:
            conn.close()
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return {
            t: [tuple(r) for r in await conn.fetch(f'SELECT * FROM "{t}" ORDER BY 1')]
            for t in tables
        }
    finally:
        await conn.close()


@pytest.fixture
async def empty_url(kith_db_url, tmp_path):
    """A brand-new, empty database of the same kind as the test's."""
    if kith_db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin_url = kith_db_url.rsplit("/", 1)[0] + "/postgres"
    name = f"kith_restore_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    yield kith_db_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def test_a_restored_copy_has_every_record_history_row_and_job(
    kith_app, kith_db_url, run_command, admin, csv_file, data_dir, empty_url
):
    await some_data(kith_app, run_command, admin, csv_file)
    await kith_app.drain()
    file = data_dir / "backups" / "kith.backup"

    made = await backup(kith_db_url, file)
    report = await restore(empty_url, file)

    assert made["bytes"] > 0
    original = await all_rows(kith_db_url)
    copy = await all_rows(empty_url)
    assert set(copy) == set(original)
    for table in original:
        assert copy[table] == original[table], table
    assert len(original["history"]) > 10 and len(original["jobs"]) >= 2
    assert len(original["contacts"]) == 5 and len(original["import_runs"]) == 1
    # the report counts every table people's data lives in (search indexes are rebuilt data)
    assert report["per_table"] == await table_rows(kith_db_url)
    assert report["rows"] == sum(len(original[t]) for t in report["per_table"])


async def test_a_backup_is_consistent_while_kith_keeps_writing(
    kith_app, kith_db_url, run_command, data_dir, empty_url
):
    async def writer() -> None:
        for i in range(60):
            await run_command("organization.create", {"name": f"Org {i}"})

    file = data_dir / "live.backup"
    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    await backup(kith_db_url, file)
    await task
    await restore(empty_url, file)

    copy = await table_rows(empty_url)
    # Every organization in the copy has its history row: a snapshot, never half a command.
    assert copy["organizations"] == copy["history"] - 1  # + the admin user's row


async def test_restore_refuses_a_database_that_holds_records(
    kith_app, kith_db_url, run_command, data_dir
):
    await run_command("organization.create", {"name": "Initech"})
    file = data_dir / "x.backup"
    await backup(kith_db_url, file)

    with pytest.raises(KithError) as info:
        await restore(kith_db_url, file)

    assert info.value.code == "not_empty"
    assert "organizations (1)" in info.value.message


async def test_bad_backup_files_are_clear_errors(kith_app, kith_db_url, data_dir, csv_file):
    with pytest.raises(KithError) as info:
        await restore(kith_db_url, csv_file("contacts.csv", "name\nAda\n"))
    assert info.value.fields[0].code == "not_backup"
    existing = csv_file("taken.backup", "x")
    with pytest.raises(KithError) as info:
        await backup(kith_db_url, existing)
    assert info.value.fields[0].code == "exists"


@pytest.mark.kith_backends("sqlite")
async def test_a_sqlite_backup_cannot_be_restored_into_postgres(kith_app, kith_db_url, data_dir):
    file = data_dir / "s.backup"
    await backup(kith_db_url, file)
    with pytest.raises(KithError) as info:
        await restore("postgresql://postgres@127.0.0.1:5432/nowhere", file)
    assert "a sqlite backup" in info.value.message


async def test_the_backup_command_writes_into_the_backup_folder(kith_app, run_command, data_dir):
    result = await run_command("backup.create", {})
    assert Path(result.file).parent == data_dir / "backups"
    assert result.bytes > 0
