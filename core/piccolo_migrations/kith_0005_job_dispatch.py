"""Hand-written: the scheduler counts job ids waiting in a broker (scheduled rows whose
``lease_until`` is set) at every pass; a partial index keeps that count small and cheap.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index of job ids sent to a broker"

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS jobs_sent ON "jobs" ("lease_until") '
    "WHERE \"status\" = 'scheduled' AND \"lease_until\" IS NOT NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kith", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
