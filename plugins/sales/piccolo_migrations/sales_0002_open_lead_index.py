"""Hand-written: an index that answers "how many open leads does this owner have?" from the
index alone. Routing asks it for every lead it places (capacity caps); without it the count
reads each of the owner's lead rows, and routing slows as leads pile up."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "open leads per owner index"

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS sales_leads_owner_open ON "leads" '
    '("owner_id", "status", "archived_at")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
