"""Helpers shared by the sales plugin's tests."""

from __future__ import annotations

import json
from typing import Any


async def history_of(kith_app, entity: str, entity_id: int) -> list[dict[str, Any]]:
    marks = kith_app.db.statements.placeholders(2)
    rows = await kith_app.db.fetch(
        f'SELECT * FROM "history" WHERE "entity" = {marks[0]} AND "entity_id" = {marks[1]} '
        'ORDER BY "id"',
        [entity, entity_id],
    )
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows


async def rows(kith_app, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return await kith_app.db.fetch(sql, params or [])


def named(events, name: str):
    return [e for e in events if e.name == name]
