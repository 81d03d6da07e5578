"""Hand-written: composite unique keys and the indexes the ticket queues use.

Plain SQL that means the same on SQLite and PostgreSQL. The two indexes on the core's
``tickets`` table serve the service queues ("my open", "unassigned" per team); they only add
read paths and are named after this plugin.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T22:22:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service: composite unique keys and queue indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS service_holidays_unique ON "service_holidays" ("calendar_id", "day")',
    'CREATE UNIQUE INDEX IF NOT EXISTS service_ccs_unique ON "service_ccs" ("ticket_id", "email")',
    'CREATE UNIQUE INDEX IF NOT EXISTS service_links_unique ON "service_links" ("ticket_id", "other_id")',
    'CREATE INDEX IF NOT EXISTS service_messages_thread ON "service_messages" ("ticket_id", "id")',
    'CREATE INDEX IF NOT EXISTS service_tickets_assignee_status ON "tickets" ("assignee_id", "status")',
    'CREATE INDEX IF NOT EXISTS service_tickets_team_status ON "tickets" ("team_id", "status")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="service", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
