"""Small SQL helpers for data-io: placeholders for either database, typed values.

Identifiers come from table metadata (checked with :func:`column`), values are always bound.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, Serial, Timestamptz
from piccolo.table import Table

from ..db.statements import Statements, quote
from .values import parse_bool


def bind(statements: Statements, sql: str) -> str:
    """Turn ``?`` marks into the dialect's placeholders (``$1, $2…`` on PostgreSQL)."""
    if statements.dialect != "postgres":
        return sql
    parts = sql.split("?")
    out = [parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        out.append(f"${i}{part}")
    return "".join(out)


def column(table: type[Table], name: str) -> str:
    """``name`` quoted, after checking that ``table`` has that column."""
    if name not in {c._meta.db_column_name for c in table._meta.columns}:
        raise ValueError(f"{table._meta.tablename} has no column {name!r}")
    return quote(name)


def typed(table: type[Table], name: str, value: Any) -> Any:
    """``value`` (text, or JSON-ready as history stores it) as the column's Python type."""
    if value is None:
        return None
    col = next((c for c in table._meta.columns if c._meta.db_column_name == name), None)
    if isinstance(value, str):
        text = value.strip()
        if isinstance(col, Integer | BigInt | Serial | ForeignKey):
            try:
                return int(text.lstrip("#"))
            except ValueError:
                raise ValueError(f"takes a whole number or an id, not {text!r}") from None
        if isinstance(col, Boolean):
            return parse_bool(text)
        if isinstance(col, Timestamptz):
            return datetime.fromisoformat(text)
        if isinstance(col, Date):
            return date.fromisoformat(text[:10])
    return value
