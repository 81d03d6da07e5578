"""Hand-written: full-text search and custom-field indexes (``find``, ``<entity>.list``).

SQLite: an FTS5 table per searchable entity, with the entity table as external content,
kept in sync by triggers (insert, delete, and update of the indexed columns), then filled
from the existing rows. PostgreSQL: a GIN index on the ``to_tsvector`` expression that
``kith.search.pg_document`` builds (the query repeats it exactly), and a GIN index on
``custom::jsonb`` (jsonb_path_ops) so equality filters on custom fields (``@>``) use it.

These statements are frozen with the migration; ``tests/unit/test_search_migration.py``
checks they still match ``kith.search.FTS``.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-22T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "full-text search and custom field indexes"

# entity table → indexed columns (same order as kith.search.FTS)
INDEXED = {
    "contacts": ("name", "email", "phone", "title"),
    "organizations": ("name", "domain", "industry"),
    "deals": ("title",),
    "leads": ("name", "email", "company"),
    "tickets": ("subject",),
}
CUSTOM_GIN = ("contacts", "organizations", "deals", "leads", "tickets", "activities", "tasks")


def sqlite_statements():
    out = []
    for table, columns in INDEXED.items():
        fts = f"{table}_fts"
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        out += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({cols}, content='{table}', "
            f"content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        ]
    return out


def pg_document(columns):
    text = " || ' ' || ".join(f'coalesce("{c}", \'\')' for c in columns)
    return f"to_tsvector('simple'::regconfig, regexp_replace({text}, '[^[:alnum:]]+', ' ', 'g'))"


def postgres_statements():
    out = [
        f'CREATE INDEX IF NOT EXISTS {table}_search ON "{table}" USING gin ({pg_document(columns)})'
        for table, columns in INDEXED.items()
    ]
    out += [
        f'CREATE INDEX IF NOT EXISTS {table}_custom ON "{table}" '
        f'USING gin (("custom"::jsonb) jsonb_path_ops)'
        for table in CUSTOM_GIN
    ]
    return out


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kith", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        is_pg = isinstance(engine, PostgresEngine)
        for statement in postgres_statements() if is_pg else sqlite_statements():
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
