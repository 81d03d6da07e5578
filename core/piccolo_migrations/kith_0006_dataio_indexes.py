"""Hand-written: unique keys and lookup indexes of the data-io tables.

An external id is unique per (entity, system); a duplicate pair is recorded once; merges and
external ids are looked up by record. Plain SQL that means the same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T22:22:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "data-io indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS external_ids_unique ON "external_ids" '
    '("entity", "system", "external_id")',
    'CREATE INDEX IF NOT EXISTS external_ids_record ON "external_ids" ("entity", "record_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS duplicate_pairs_unique ON "duplicate_pairs" '
    '("entity", "record_id", "other_id")',
    'CREATE INDEX IF NOT EXISTS import_rejects_run ON "import_rejects" ("run_id", "row_number")',
    'CREATE INDEX IF NOT EXISTS merges_entity ON "merges" ("entity", "loser_id")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kith", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
