"""History rows: who changed which fields of which record, through which command."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

Changes = dict[str, list[Any]]

# Columns that change on every write and say nothing a person wants in a timeline.
NOISE = frozenset({"updated_at", "created_at", "created_by", "id"})


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """``{field: [before, after]}`` for every field of ``after`` whose value changed."""
    changes: Changes = {}
    for key, new in after.items():
        if key in NOISE:
            continue
        old = before.get(key)
        if old != new:
            changes[key] = [jsonable(old), jsonable(new)]
    return changes


def created(values: dict[str, Any]) -> Changes:
    return {
        k: [None, jsonable(v)]
        for k, v in values.items()
        if k not in NOISE and v is not None and v != {} and v != []
    }
