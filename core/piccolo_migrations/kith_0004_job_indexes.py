"""Hand-written: due-job index, and one *scheduled* job per key.

Scheduling again with a key reschedules the scheduled job; done, dead and cancelled jobs keep
their key for the record, so the unique index is partial (SQLite and PostgreSQL both have them).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T21:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job indexes"

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS jobs_due ON "jobs" ("status", "run_at")',
    'CREATE UNIQUE INDEX IF NOT EXISTS jobs_scheduled_key ON "jobs" ("key") '
    "WHERE \"status\" = 'scheduled'",
    'CREATE INDEX IF NOT EXISTS jobs_key ON "jobs" ("key")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kith", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
