"""Run the migrations of the core and of every enabled plugin, core first.

piccolo keeps a process-wide engine for migrations, so they run in a child process
(``python -m kith.migrate``): the caller's own database connections are never affected, and
tests can migrate SQLite and PostgreSQL databases from one process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from .errors import KithError


async def _forwards() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    if not result.success:
        raise SystemExit(f"migration failed: {result.message}")


def migrate(database_url: str, plugin_apps: list[str], *, quiet: bool = True) -> None:
    """Bring ``database_url`` up to date. ``plugin_apps`` are the plugins' piccolo app
    modules (from the ``kith_tables`` hook), excluding the core's."""
    env = {
        **os.environ,
        "KITH_DATABASE_URL": database_url,
        "PICCOLO_CONF": "kith.piccolo_conf",
        "KITH_PICCOLO_APPS": ",".join(a for a in plugin_apps if a != "kith.piccolo_app"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "kith.migrate"],
        env=env,
        capture_output=quiet,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:] if quiet else []
        raise KithError(
            "migration_failed",
            "Migrations failed for "
            + database_url.split("@")[-1]
            + (": " + " | ".join(detail) if detail else ""),
            status=500,
        )


if __name__ == "__main__":
    asyncio.run(_forwards())
