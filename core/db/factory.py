"""Pick the engine from ``KITH_DATABASE_URL``."""

from __future__ import annotations

from urllib.parse import urlparse

from ..errors import FieldError, KithError
from .base import Database


def sqlite_path(url: str) -> str:
    """``sqlite:///kith.db`` → ``kith.db``; ``sqlite:////abs/k.db`` → ``/abs/k.db``."""
    path = url.removeprefix("sqlite://")
    if path.startswith("/"):
        path = path[1:]
    return path or "kith.db"


def database_for(url: str, *, sqlite_readers: int = 2, pg_pool_max: int = 10) -> Database:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from .sqlite import SQLiteDatabase

        return SQLiteDatabase(sqlite_path(url), readers=sqlite_readers)
    if scheme in ("postgres", "postgresql"):
        from .postgres import PostgresDatabase

        return PostgresDatabase(
            url.replace("postgres://", "postgresql://", 1), pool_max=pg_pool_max
        )
    raise KithError(
        "invalid_settings",
        f"KITH_DATABASE_URL must start with sqlite:/// or postgresql:// (got {url!r})",
        [FieldError("KITH_DATABASE_URL", "unsupported scheme")],
    )


async def open_database(url: str, **kwargs: int) -> Database:
    db = database_for(url, **kwargs)
    await db.open()
    return db
