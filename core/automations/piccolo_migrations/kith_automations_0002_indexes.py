"""Hand-written: composite keys and indexes of the automations' tables.

A run is unique per (automation, trigger key): an event delivered twice starts one run.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T22:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "automation indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS automation_versions_unique '
    'ON "automation_versions" ("automation_id", "version")',
    'CREATE UNIQUE INDEX IF NOT EXISTS automation_runs_trigger '
    'ON "automation_runs" ("automation_id", "trigger_key")',
    'CREATE INDEX IF NOT EXISTS automation_runs_record '
    'ON "automation_runs" ("automation_id", "record_id", "started_at")',
    'CREATE INDEX IF NOT EXISTS automation_runs_status ON "automation_runs" ("status", "id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS automation_matches_unique '
    'ON "automation_matches" ("automation_id", "entity", "record_id")',
]


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="kith_automations", description=DESCRIPTION
    )

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
