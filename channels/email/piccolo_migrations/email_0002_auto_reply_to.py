from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T09:30:49:384694"
VERSION = "1.38.0"
DESCRIPTION = "the address an acknowledgement went to"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="email", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="EmailMessage",
        tablename="email_messages",
        column_name="auto_reply_to",
        db_column_name="auto_reply_to",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 320,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
