"""piccolo's configuration for Kith's migrations, built from ``KITH_DATABASE_URL``.

Only migrations use piccolo's own engines; Kith's runtime uses :mod:`kith.db`.
The app registry lists the core app first, then each enabled plugin's app (set by
:func:`kith.migrate.migrate` through ``KITH_PICCOLO_APPS``).
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from .db.factory import sqlite_path


def _engine() -> SQLiteEngine | PostgresEngine:
    url = os.environ.get("KITH_DATABASE_URL", "sqlite:///kith.db")
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return SQLiteEngine(path=sqlite_path(url), timeout=30)
    return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})


DB = _engine()
_extra = [a for a in os.environ.get("KITH_PICCOLO_APPS", "").split(",") if a]
APP_REGISTRY = AppRegistry(apps=["kith.piccolo_app", *_extra])
