"""Hand-written: composite unique keys and indexes piccolo's auto migrations do not express.

Plain SQL that means the same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T21:37:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys and indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS team_members_unique ON "team_members" ("team_id", "user_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS record_tags_unique ON "record_tags" ("tag_id", "entity", "record_id")',
    'CREATE INDEX IF NOT EXISTS record_tags_record ON "record_tags" ("entity", "record_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS custom_field_defs_unique ON "custom_field_defs" ("entity", "key")',
    'CREATE INDEX IF NOT EXISTS history_record ON "history" ("entity", "entity_id", "id")',
    'CREATE INDEX IF NOT EXISTS outbox_undispatched ON "outbox_events" ("dispatched_at", "id")',
    'CREATE INDEX IF NOT EXISTS stages_pipeline ON "stages" ("pipeline_id", "position")',
    'CREATE INDEX IF NOT EXISTS tasks_record ON "tasks" ("record_type", "record_id")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kith", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
