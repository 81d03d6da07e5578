"""The command line: kith import / export / duplicates / backup / restore (on SQLite)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from kith.cli import main

FILES = Path(__file__).parent / "files"


@pytest.fixture
def cli(tmp_path, _kith_templates, monkeypatch):
    """``cli("import", "contacts", ...)`` runs ``kith`` on a fresh migrated SQLite file."""
    db = tmp_path / "kith.db"
    shutil.copyfile(_kith_templates.sqlite(), db)
    monkeypatch.chdir(tmp_path)
    env = {
        "KITH_DATABASE_URL": f"sqlite:///{db}",
        "KITH_PLUGINS_FILE": str(tmp_path / "none.toml"),
        "KITH_IMPORT_DIR": str(tmp_path / "imports"),
        "KITH_AS": "me@example.com",
    }
    runner = CliRunner()

    def run(*args: str, database: str | None = None):
        extra = {"KITH_DATABASE_URL": database} if database else {}
        return runner.invoke(main, list(args), env={**env, **extra}, catch_exceptions=False)

    assert run("user", "add", "me@example.com", "--name", "Me", "--role", "admin").exit_code == 0
    return run


def test_importing_from_the_command_line_with_a_dry_run_first(cli, tmp_path):
    shutil.copyfile(FILES / "contacts_mixed.csv", tmp_path / "mixed.csv")

    dry = cli("import", "contacts", "mixed.csv", "--dry-run", "--report", "report.csv")
    assert dry.exit_code == 0, dry.output
    assert "Dry run: 3 created, 0 updated, 1 skipped, 4 rejected (nothing written)" in dry.output
    assert "row 3: rejected email (Email)" in dry.output
    assert "Email → email" in dry.output
    with (tmp_path / "report.csv").open(encoding="utf-8-sig") as f:
        assert [r["action"] for r in csv.DictReader(f)][:3] == ["created", "rejected", "created"]

    done = cli("import", "contacts", "mixed.csv")
    assert done.exit_code == 0, done.output
    assert "Imported mixed.csv: 3 created, 0 updated, 1 skipped, 4 rejected" in done.output
    rejects = (tmp_path / "mixed.rejects.csv").read_text(encoding="utf-8-sig")
    assert "has 7 values but the header has 5 columns" in rejects

    again = cli("import", "contacts", "mixed.csv")
    assert "0 created, 0 updated, 4 skipped, 4 rejected" in again.output


def test_an_interrupted_or_background_import_resumes_where_it_stopped(cli, tmp_path):
    shutil.copyfile(FILES / "hubspot_contacts_bom.csv", tmp_path / "hs.csv")
    queued = cli("import", "contacts", "hs.csv", "--background", "--key", "external:hubspot")
    assert "Import #1 runs in the background" in queued.output

    resumed = cli("import", "contacts", "hs.csv", "--key", "external:hubspot")
    assert "Resuming import #1 after row 1" in resumed.output
    assert "4 created" in resumed.output


def test_bad_files_exit_with_a_clear_message(cli, tmp_path):
    (tmp_path / "phones.csv").write_text("Name,Phone\nAda,+44 1\n", encoding="utf-8")
    result = cli("import", "contacts", "phones.csv")
    assert result.exit_code == 2
    assert "phones.csv has no email column" in result.output
    result = cli("import", "contacts", "missing.csv")
    assert result.exit_code == 2 and "No file" in result.output


def test_export_duplicates_backup_and_restore(cli, tmp_path):
    shutil.copyfile(FILES / "outlook_contacts_cp1252.csv", tmp_path / "o.csv")
    (tmp_path / "d.csv").write_text(
        "Name,Email,Company\nZoe Dupre,zoe@gmail.com,Société Générale\n", encoding="utf-8"
    )
    assert cli("import", "contacts", "o.csv").exit_code == 0
    assert cli("import", "contacts", "d.csv").exit_code == 0

    exported = cli("export", "contacts", "--filter", "lifecycle_stage=subscriber", "-o", "c.csv")
    assert exported.exit_code == 0, exported.output
    with (tmp_path / "c.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 6
    jsonl = cli("export", "organizations", "--format", "jsonl")
    assert jsonl.output.count("\n") == 5 and '"name": "Initech"' in jsonl.output

    dupes = cli("duplicates", "contacts")
    assert "Zoë Dupré  ~  #6 Zoe Dupre" in dupes.output
    assert "similar name (100%) at the same organization" in dupes.output

    backed = cli("backup", "k.backup")
    assert backed.exit_code == 0 and "Backed up to k.backup" in backed.output
    refused = cli("restore", "k.backup")
    assert refused.exit_code == 2 and "not empty" in refused.output
    restored = cli("restore", "k.backup", database=f"sqlite:///{tmp_path / 'copy.db'}")
    assert restored.exit_code == 0 and "Restored" in restored.output
