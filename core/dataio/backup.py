"""Backups that are safe while Kith runs, and restores into an empty database.

* SQLite: SQLite's online backup API, from a connection of its own — a consistent copy of
  the database while Kith keeps reading and writing (WAL: the copy does not block writers).
* PostgreSQL: ``pg_dump`` in its custom format (``pg_dump`` comes with the PostgreSQL
  client; it reads one consistent snapshot), restored with ``pg_restore``.

A restore refuses a database that holds any record (piccolo's ``migration`` table aside): it
never merges a backup into live data. A migrated but empty database is fine. Stop Kith on
the target before restoring into it.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..commands import command
from ..context import Context
from ..db.factory import sqlite_path
from ..db.statements import quote
from ..entities._common import Input
from ..errors import FieldError, KithError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
IGNORED_TABLES = frozenset({"migration"})


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgres"


def _refuse_existing(path: Path) -> None:
    if path.exists():
        raise KithError(
            "invalid_input",
            f"{path} exists already; choose a new file name (a backup never overwrites one)",
            [FieldError("file", "exists already", "exists")],
        )


def _sqlite_backup(source: str, target: Path) -> None:
    if not Path(source).exists():
        raise KithError("not_found", f"No SQLite database at {source}")
    part = target.with_name(target.name + ".part")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(part)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    part.replace(target)


async def _run(program: str, *args: str) -> None:
    exe = shutil.which(program)
    if exe is None:
        raise KithError(
            "missing_tool",
            f"{program} is not installed: install the PostgreSQL client (e.g. apt install "
            "postgresql-client) in the version of the server or newer",
            status=500,
        )
    proc = await asyncio.create_subprocess_exec(
        exe, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        raise KithError(
            "backup_failed",
            f"{program} failed: {' | '.join(detail[-3:]) or f'exit code {proc.returncode}'}",
            status=500,
        )


async def backup(database_url: str, target: Path) -> dict[str, Any]:
    """Write a backup of ``database_url`` to ``target`` (which must not exist yet)."""
    _refuse_existing(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    dialect = _dialect(database_url)
    if dialect == "sqlite":
        await asyncio.to_thread(_sqlite_backup, sqlite_path(database_url), target)
    else:
        part = target.with_name(target.name + ".part")
        try:
            await _run(
                "pg_dump",
                "--format=custom",
                "--no-owner",
                f"--file={part}",
                f"--dbname={database_url}",
            )
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        part.replace(target)
    return {"file": str(target), "bytes": _size(target), "dialect": dialect}


def _size(path: Path) -> int:
    return path.stat().st_size


def backup_kind(path: Path) -> str:
    if not path.is_file():
        raise KithError("not_found", f"No backup file {path}", [FieldError("file", "not found")])
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgres"
    raise KithError(
        "invalid_input",
        f"{path.name} is not a Kith backup (neither a SQLite database nor a pg_dump archive)",
        [FieldError("file", "not a backup", "not_backup")],
    )


def _sqlite_rows(path: str) -> dict[str, int]:
    if not Path(path).exists() or Path(path).stat().st_size == 0:
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        # full-text indexes (FTS5 virtual tables and their shadow tables) always hold rows
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND (sql IS NULL OR sql NOT LIKE 'CREATE VIRTUAL TABLE%')"
            )
            if "_fts" not in r[0]
        ]
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {quote(t)}").fetchone()[0]  # noqa: S608
            for t in tables
        }
    finally:
        conn.close()


async def _pg_rows(url: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {t: await conn.fetchval(f"SELECT COUNT(*) FROM {quote(t)}") for t in tables}  # noqa: S608
    finally:
        await conn.close()


async def table_rows(database_url: str) -> dict[str, int]:
    """Rows per table of ``database_url`` (what a restore checks and reports)."""
    if _dialect(database_url) == "sqlite":
        return await asyncio.to_thread(_sqlite_rows, sqlite_path(database_url))
    return await _pg_rows(database_url)


def _sqlite_restore(source: Path, target: str) -> None:
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


async def restore(database_url: str, source: Path) -> dict[str, Any]:
    """Restore the backup ``source`` into the empty database ``database_url``."""
    kind = backup_kind(source)
    dialect = _dialect(database_url)
    if kind != dialect:
        raise KithError(
            "invalid_input",
            f"{source.name} is a {kind} backup; restore it into a {kind} database "
            f"(KITH_DATABASE_URL is {dialect})",
            [FieldError("file", f"a {kind} backup", "wrong_database")],
        )
    before = await table_rows(database_url)
    busy = {t: n for t, n in before.items() if n and t not in IGNORED_TABLES}
    if busy:
        shown = ", ".join(f"{t} ({n})" for t, n in sorted(busy.items())[:5])
        raise KithError(
            "not_empty",
            f"The target database is not empty: {shown}. Restore into a new, empty database.",
            [FieldError("KITH_DATABASE_URL", "holds records already", "not_empty")],
            status=409,
        )
    if kind == "sqlite":
        await asyncio.to_thread(_sqlite_restore, source, sqlite_path(database_url))
    else:
        clean = ["--clean", "--if-exists"] if before else []
        await _run(
            "pg_restore",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *clean,
            f"--dbname={database_url}",
            str(source),
        )
    after = await table_rows(database_url)
    return {"tables": len(after), "rows": sum(after.values()), "per_table": after}


class BackupOut(BaseModel):
    file: str
    bytes: int
    dialect: str


class BackupInput(Input):
    pass


@command(
    "backup.create", input=BackupInput, output=BackupOut, permission="backups.admin", read_only=True
)
async def create_backup(ctx: Context, data: BackupInput) -> dict[str, Any]:
    """Back up the database (safe while Kith runs) into the backup folder
    (KITH_BACKUP_DIR); restore with `kith restore FILE` into an empty database."""
    stamp = ctx.now().strftime("%Y%m%d-%H%M%S")
    dialect = ctx.kith.db.dialect
    name = f"kith-{stamp}.{'sqlite' if dialect == 'sqlite' else 'dump'}"
    folder = Path(ctx.kith.settings.backup_dir)
    target = folder / name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"kith-{stamp}-{n}.{target.suffix.lstrip('.')}"
    return await backup(ctx.kith.settings.database_url, target)


COMMANDS = [create_backup]
