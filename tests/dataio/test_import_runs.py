"""Bad files are clear errors; imports run as jobs and resume after a crash, nothing doubled."""

from __future__ import annotations

from pathlib import Path

import kith
import pytest
from kith import KithError
from kith.dataio.import_csv import load_run, run_to_end
from kith.testing import count_rows

from .conftest import import_now, rows

TEN = "Name,Email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(1, 8))
TEN += "Crash Test,crash@example.com\nPerson 9,p9@example.com\nPerson 10,p10@example.com\n"


class Crasher:
    """A plugin whose validation hook dies (like a process would) on the row named Crash."""

    armed = False

    @kith.hookimpl
    def kith_validate(self, command, data, actor):
        if Crasher.armed and command == "contact.create" and data.name.startswith("Crash"):
            raise RuntimeError("power cut")


@pytest.fixture
def kith_plugins():
    Crasher.armed = False
    return [("crasher", Crasher())]


def read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8-sig")


async def nothing_written(kith_app) -> None:
    for table in ("contacts", "organizations", "import_runs", "import_rejects", "history"):
        assert await count_rows(kith_app, table) == (1 if table == "history" else 0), table


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("contacts.xlsx", b"PK\x03\x04\x14\x00\x06\x00workbook", "not_csv", "ZIP archive"),
        ("contacts.csv", b"%PDF-1.7\n%\xe2\xe3", "not_csv", "PDF document"),
        ("contacts.csv", b'[{"name": "Ada"}]', "not_csv", "looks like JSON"),
        ("contacts.csv", b"", "not_csv", "empty"),
        ("contacts.csv", b"\x00\x01\x02binary", "not_csv", "binary"),
        ("contacts.csv", b"Name,Phone\nAda,+44 1\n", "missing_key_column", "no email column"),
        ("contacts.csv", b"Colour,Flavour\nred,salty\n", "not_csv", "matches a contact field"),
    ],
)
async def test_a_file_that_cannot_be_imported_is_a_clear_error_and_nothing_is_written(
    kith_app, admin, csv_file, name, content, code, words
):
    path = csv_file(name, content.decode("latin-1"), encoding="latin-1")
    with pytest.raises(KithError) as info:
        await import_now(kith_app, admin, "contacts", path)
    assert info.value.code == code
    assert words in info.value.message
    await nothing_written(kith_app)


async def test_a_file_over_the_size_limit_is_refused_before_it_is_read(kith_app, admin, csv_file):
    kith_app.settings.import_max_bytes = 50
    path = csv_file("big.csv", TEN)
    with pytest.raises(KithError) as info:
        await import_now(kith_app, admin, "contacts", path)
    assert info.value.code == "too_large" and info.value.status == 413
    assert "KITH_IMPORT_MAX_BYTES" in info.value.message
    await nothing_written(kith_app)


async def test_unknown_columns_fields_and_keys_are_named(kith_app, admin, csv_file):
    path = csv_file("c.csv", "Name,Email\nAda,ada@x.example\n")
    with pytest.raises(KithError) as info:
        await import_now(kith_app, admin, "contacts", path, mapping={"Mail": "email"})
    assert info.value.fields[0].field == "map.Mail"
    with pytest.raises(KithError) as info:
        await import_now(kith_app, admin, "contacts", path, mapping={"Email": "e_mail"})
    assert "not a contact field" in info.value.message
    with pytest.raises(KithError) as info:
        await import_now(kith_app, admin, "contacts", path, key="domain")
    assert info.value.fields[0].field == "key"
    await nothing_written(kith_app)


async def test_a_crash_mid_import_resumes_after_the_last_committed_batch(
    kith_app, admin, csv_file, events
):
    kith_app.settings.import_batch_rows = 3
    path = csv_file("ten.csv", TEN)
    Crasher.armed = True
    with pytest.raises(RuntimeError):
        await import_now(kith_app, admin, "contacts", path)
    run = (await rows(kith_app, 'SELECT * FROM "import_runs"'))[0]
    assert (run["status"], run["rows_done"]) == ("running", 6)
    assert await count_rows(kith_app, "contacts") == 6

    Crasher.armed = False
    run = await run_to_end(kith_app, run["id"])
    await kith_app.drain()

    assert (run["status"], run["rows_done"], run["created"]) == ("done", 10, 10)
    emails = [r["email"] for r in await rows(kith_app, 'SELECT "email" FROM "contact_emails"')]
    assert len(emails) == len(set(emails)) == 10
    history = await rows(kith_app, 'SELECT * FROM "history" WHERE "entity" = ?', "contact")
    assert len(history) == 10
    assert [e.name for e in events].count("import.completed") == 1


async def test_a_background_import_runs_as_jobs_and_survives_a_crash(
    kith_app, run_command, run_jobs, clock, data_dir, events
):
    kith_app.settings.import_batch_rows = 3
    Crasher.armed = True
    started = await run_command(
        "import.start", {"entity": "contacts", "content": TEN, "file_name": "ten.csv"}
    )
    assert started.status == "running"

    await run_jobs()
    status = await run_command("import.status", {"run": started.id})
    assert (status.status, status.rows_done) == ("running", 6)
    job = (
        await rows(
            kith_app,
            'SELECT * FROM "jobs" WHERE "key" = ? AND "status" = ?',
            f"import:{started.id}",
            "scheduled",
        )
    )[0]
    assert "power cut" in job["last_error"]

    Crasher.armed = False
    clock.advance(minutes=10)
    await run_jobs()

    status = await run_command("import.status", {"run": started.id})
    assert (status.status, status.rows_done, status.created) == ("done", 10, 10)
    assert await count_rows(kith_app, "contacts") == 10
    done = [e for e in events if e.name == "import.completed"]
    assert len(done) == 1 and done[0].actor.startswith("import:ten.csv:user:")


async def test_a_background_import_leaves_a_rejects_file_and_shows_the_first_rejects(
    kith_app, run_command, run_jobs, data_dir
):
    content = "Name,Email\nAda,ada@x.example\nBroken,nope\n"
    started = await run_command("import.start", {"entity": "contacts", "content": content})
    await run_jobs()
    status = await run_command("import.status", {"run": started.id})
    assert (status.created, status.rejected) == (1, 1)
    assert (status.rejects[0].row, status.rejects[0].field) == (3, "email")
    text = read_text(status.rejects_file)
    assert "Broken,nope" in text


async def test_the_check_command_is_a_dry_run_for_channels(kith_app, run_command, data_dir):
    result = await run_command(
        "import.check",
        {"entity": "organizations", "content": "Company;Website\nInitech;initech.io\n"},
    )
    assert result.plan.delimiter == "semicolon"
    assert result.plan.mapping == {"Company": "name", "Website": "domain"}
    assert (result.created, result.rows[0].action) == (1, "created")
    assert await count_rows(kith_app, "organizations") == 0


async def test_a_channel_cannot_import_a_file_outside_the_import_folder(
    kith_app, run_command, data_dir
):
    with pytest.raises(KithError) as info:
        await run_command("import.start", {"entity": "contacts", "file": "../../etc/passwd"})
    assert info.value.fields[0].field == "file"
    assert await count_rows(kith_app, "import_runs") == 0


async def test_an_agent_may_not_start_imports_and_a_cancelled_import_stops(
    kith_app, run_command, run_jobs, make_actor, data_dir
):
    agent = await make_actor("agent")
    with pytest.raises(KithError) as info:
        await run_command("import.start", {"entity": "contacts", "content": TEN}, actor=agent)
    assert info.value.code == "forbidden"

    started = await run_command("import.start", {"entity": "contacts", "content": TEN})
    cancelled = await run_command("import.cancel", {"run": started.id})
    await run_jobs()
    assert cancelled.status == "cancelled"
    assert (await load_run(kith_app, started.id))["rows_done"] == 0
    assert await count_rows(kith_app, "contacts") == 0
