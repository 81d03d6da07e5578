"""Convert Python values to and from what each database stores, per piccolo column type."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from piccolo.columns import JSON, JSONB, Boolean, Date, Timestamptz
from piccolo.table import Table

Converter = Callable[[Any], Any]


def _dt_to_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: give a timezone")
    return value.astimezone(UTC).isoformat()


def _text_to_dt(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


def _text_to_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _json_loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _none_safe(fn: Converter) -> Converter:
    def convert(value: Any) -> Any:
        return None if value is None else fn(value)

    return convert


class TableCodec:
    """Per-table converters, built once. ``encode`` for parameters, ``decode`` for rows."""

    def __init__(self, table: type[Table], dialect: str) -> None:
        self.table = table
        self.tablename = table._meta.tablename
        self.columns: tuple[str, ...] = tuple(c._meta.db_column_name for c in table._meta.columns)
        self.column_set = frozenset(self.columns)
        self.json_columns = frozenset(
            c._meta.db_column_name for c in table._meta.columns if isinstance(c, JSON | JSONB)
        )
        enc: dict[str, Converter] = {}
        dec: dict[str, Converter] = {}
        for col in table._meta.columns:
            name = col._meta.db_column_name
            if isinstance(col, JSON | JSONB):
                enc[name] = _none_safe(_json_dumps)
                dec[name] = _none_safe(_json_loads)
            elif dialect == "sqlite":
                if isinstance(col, Timestamptz):
                    enc[name] = _none_safe(_dt_to_text)
                    dec[name] = _none_safe(_text_to_dt)
                elif isinstance(col, Date):
                    enc[name] = _none_safe(date.isoformat)
                    dec[name] = _none_safe(_text_to_date)
                elif isinstance(col, Boolean):
                    enc[name] = _none_safe(int)
                    dec[name] = _none_safe(bool)
        self._enc = enc
        self._dec = tuple(dec.items())

    def encode(self, column: str, value: Any) -> Any:
        fn = self._enc.get(column)
        return fn(value) if fn is not None else value

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        for name, fn in self._dec:
            if name in row:
                row[name] = fn(row[name])
        return row


_codecs: dict[tuple[type[Table], str], TableCodec] = {}


def codec_for(table: type[Table], dialect: str) -> TableCodec:
    key = (table, dialect)
    codec = _codecs.get(key)
    if codec is None:
        codec = _codecs[key] = TableCodec(table, dialect)
    return codec
