"""Hand-written: an index on the last nine digits of a contact's phone.

The duplicate check looks for contacts whose phone ends like a new one's; without this index
that is a scan of every contact for every contact created. The expression strips the usual
separators (space, ``-``, ``.``, ``(``, ``)``, ``+``) and keeps the last nine characters; it
must stay identical to ``PHONE_TAIL`` in ``kith/dataio/duplicates.py`` (a test checks the
query uses this index).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-23T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts phone tail index"

STRIPPED = (
    "replace(replace(replace(replace(replace(replace(\"phone\", ' ', ''), '-', ''), "
    "'.', ''), '(', ''), ')', ''), '+', '')"
)
SQLITE = f'CREATE INDEX IF NOT EXISTS contacts_phone_tail ON "contacts" (substr({STRIPPED}, -9))'
POSTGRES = f'CREATE INDEX IF NOT EXISTS contacts_phone_tail ON "contacts" ((right({STRIPPED}, 9)))'


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kith", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl(POSTGRES if isinstance(engine, PostgresEngine) else SQLITE)

    manager.add_raw(run)
    return manager
