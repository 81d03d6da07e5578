"""Helpers for the data-io tests: real files, imports run the way the CLI runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kith.dataio.import_csv import create_run, dry_run, import_actor, run_to_end
from kith.dataio.plan import ImportOptions, plan_import

FILES = Path(__file__).parent / "files"


@pytest.fixture
def data_dir(tmp_path: Path, kith_app) -> Path:
    """Import and backup folders of the test app, inside the test's temporary folder."""
    kith_app.settings.import_dir = str(tmp_path / "imports")
    kith_app.settings.backup_dir = str(tmp_path / "backups")
    return tmp_path


@pytest.fixture
def csv_file(data_dir: Path):
    """``csv_file("name.csv")`` copies a real file from tests/dataio/files;
    ``csv_file("x.csv", "a,b\\n1,2\\n")`` writes one (UTF-8 unless ``encoding``)."""

    def make(name: str, text: str | None = None, encoding: str = "utf-8") -> Path:
        path = data_dir / name
        if text is None:
            shutil.copyfile(FILES / name, path)
        else:
            path.write_bytes(text.encode(encoding))
        return path

    return make


async def user_row(kith_app, actor) -> dict | None:
    if actor.user_id is None:
        return None
    return {"id": actor.user_id, "role": actor.role, "name": actor.name, "email": actor.email}


async def import_now(kith_app, actor, entity: str, path: Path, **options) -> dict:
    """Plan, record and run an import to its end in this process (the CLI's way)."""
    plan = await plan_import(kith_app, entity, path, ImportOptions(**options))
    run = await create_run(kith_app, import_actor(await user_row(kith_app, actor), path.name), plan)
    run = await run_to_end(kith_app, run["id"])
    await kith_app.drain()
    return run


async def check_now(kith_app, actor, entity: str, path: Path, **options):
    plan = await plan_import(kith_app, entity, path, ImportOptions(**options))
    return await dry_run(kith_app, import_actor(await user_row(kith_app, actor), path.name), plan)


async def rows(kith_app, sql: str, *params) -> list[dict]:
    marks = kith_app.db.statements.placeholders(len(params))
    for m in marks:
        sql = sql.replace("?", m, 1) if m != "?" else sql
    return await kith_app.db.fetch(sql, list(params))
