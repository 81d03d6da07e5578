"""Convert Python values to and from what each database stores, per piccolo column type."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from piccolo.columns import JSON, JSONB, Boolean, Date, Timestamptz
from piccolo.table import Table

Converter = Callable[[Any], Any]


# A command stamps the same datetime on most rows it writes (created_at, updated_at, history,
# outbox): the last one converted is remembered.
_last_dt: tuple[datetime | None, str | None] = (None, None)


def _dt_to_text(value: datetime | None) -> str | None:
    global _last_dt
    if value is None:
        return None
    last = _last_dt
    if last[0] is value:
        return last[1]
    tz = value.tzinfo
    if tz is UTC:
        text = value.isoformat()
    elif tz is None:
        raise ValueError("naive datetimes are not stored: give a timezone")
    else:
        text = value.astimezone(UTC).isoformat()
    _last_dt = (value, text)
    return text


def _text_to_dt(value: Any) -> Any:
    if isinstance(value, str):
        dt = datetime.fromisoformat(value)
        return dt if dt.tzinfo is UTC else dt.astimezone(UTC)
    return value


def _text_to_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_EMPTY_JSON: dict[str, Any] = {"{}": dict, "[]": list}


def _json_dumps(value: Any) -> str | None:
    if value is None:
        return None
    if not value and isinstance(value, dict):
        return "{}"
    return _ENCODER.encode(value)


def _json_loads(value: Any) -> Any:
    if isinstance(value, str):
        empty = _EMPTY_JSON.get(value)
        return empty() if empty is not None else json.loads(value)
    if isinstance(value, bytes):
        return json.loads(value)
    return value


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
                enc[name] = _json_dumps
                dec[name] = _json_loads
            elif dialect == "sqlite":
                if isinstance(col, Timestamptz):
                    enc[name] = _dt_to_text
                    dec[name] = _text_to_dt
                elif isinstance(col, Date):
                    enc[name] = _none_safe(date.isoformat)
                    dec[name] = _none_safe(_text_to_date)
                elif isinstance(col, Boolean):
                    enc[name] = _none_safe(int)
                    dec[name] = _none_safe(bool)
        self._enc = enc
        self._dec = tuple(dec.items())
        self._encoders: dict[tuple[str, ...], tuple[Converter | None, ...]] = {}

    def encode(self, column: str, value: Any) -> Any:
        fn = self._enc.get(column)
        return fn(value) if fn is not None else value

    def encoders(self, columns: Sequence[str]) -> tuple[Converter | None, ...]:
        """The converter of each column (``None``: stored as is), cached per column list."""
        key = tuple(columns)
        found = self._encoders.get(key)
        if found is None:
            found = self._encoders[key] = tuple(self._enc.get(c) for c in key)
        return found

    def encode_values(self, columns: Sequence[str], values: Sequence[Any]) -> list[Any]:
        """``values`` (in the order of ``columns``) as parameters."""
        return [
            v if fn is None else fn(v) for fn, v in zip(self.encoders(columns), values, strict=True)
        ]

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
