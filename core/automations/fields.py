"""What conditions and templates can say about a record: its fields, typed, and its related
records, read from the tables every entity registered (core and plugins alike).

``stage`` on a deal compares by the stage's name, ``value`` in major units, ``owner`` by the
user's name, email or id; ``owner.email`` or ``organization.industry`` follow a reference
to the related record; ``custom.<key>`` reads a custom field (typed by its definition).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from piccolo.columns import (
    JSON,
    JSONB,
    BigInt,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    Real,
    Serial,
    SmallInt,
    Timestamptz,
)
from piccolo.table import Table

from ..context import _ENTITY_NAMES
from ..db.statements import Statements
from ..money import to_major

Fetch = Callable[[str, list[Any]], Awaitable[list[dict[str, Any]]]]

LABEL_COLUMNS = ("name", "title", "subject", "email")
CUSTOM_KINDS = {
    "text": "text",
    "url": "text",
    "choice": "text",
    "number": "number",
    "money": "number",
    "date": "date",
    "bool": "bool",
    "multi-choice": "list",
    "user": "ref",
}
MAX_DEPTH = 3


@dataclass(frozen=True)
class FieldDef:
    """One field of an entity as conditions see it."""

    name: str
    kind: str  # text number money datetime date bool ref json list any
    column: str | None
    ref: str | None = None  # the entity a ref points at
    currency_column: str | None = None


@dataclass(frozen=True)
class FieldPath:
    """``owner.email`` on a deal: the refs to follow, then the final field."""

    text: str
    entity: str
    steps: tuple[FieldDef, ...]
    custom_key: str | None = None
    custom_kind: str | None = None

    @property
    def last(self) -> FieldDef:
        return self.steps[-1]

    @property
    def kind(self) -> str:
        return self.custom_kind or self.last.kind

    @property
    def direct(self) -> bool:
        """A field of the record itself (the only kind ``changed`` can see)."""
        return len(self.steps) == 1


class RefValue:
    """A related record as a value: equal to its id, its label or its email."""

    __slots__ = ("email", "id", "label")

    def __init__(self, id: int, label: str | None, email: str | None = None) -> None:
        self.id = id
        self.label = label
        self.email = email

    def matches(self, expected: Any) -> bool:
        if isinstance(expected, RefValue):
            return expected.id == self.id
        if isinstance(expected, int) and not isinstance(expected, bool):
            return expected == self.id
        text = str(expected).strip().casefold()
        if text.removeprefix("#").isdigit():
            return int(text.removeprefix("#")) == self.id
        return text in {
            (self.label or "").casefold(),
            (self.email or "").casefold(),
        }

    def __str__(self) -> str:
        return self.label or f"#{self.id}"

    def __repr__(self) -> str:
        return f"{self.label!r} (#{self.id})"

    def jsonable(self) -> Any:
        return self.label if self.label is not None else self.id


def _kind(column: Any) -> str:
    if isinstance(column, JSON | JSONB):
        return "json"
    if isinstance(column, Boolean):
        return "bool"
    if isinstance(column, Timestamptz):
        return "datetime"
    if isinstance(column, Date):
        return "date"
    if isinstance(column, Integer | BigInt | SmallInt | Serial | Float | Real | Numeric):
        return "number"
    return "text"


class Catalog:
    """Entity → table → fields, built from the registered entities."""

    def __init__(self) -> None:
        self._fields: dict[str, dict[str, FieldDef]] = {}
        self._entities: dict[str, type[Table]] = {}

    def entities(self) -> dict[str, type[Table]]:
        if len(self._entities) != len(_ENTITY_NAMES):  # a plugin registered one since
            self._entities = {name: table for table, name in _ENTITY_NAMES.items()}
        return self._entities

    def table(self, entity: str) -> type[Table] | None:
        return self.entities().get(entity)

    def fields(self, entity: str) -> dict[str, FieldDef]:
        cached = self._fields.get(entity)
        if cached is not None:
            return cached
        table = self.table(entity)
        if table is None:
            return {}
        names = {t: n for t, n in _ENTITY_NAMES.items()}
        out: dict[str, FieldDef] = {}
        columns = {c._meta.db_column_name: c for c in table._meta.columns}
        for col_name, column in columns.items():
            if isinstance(column, ForeignKey) and col_name.endswith("_id"):
                target = column._foreign_key_meta.resolved_references
                ref = names.get(target) or target._meta.tablename.removesuffix("s")
                out[col_name.removesuffix("_id")] = FieldDef(
                    col_name.removesuffix("_id"), "ref", col_name, ref
                )
                out[col_name] = FieldDef(col_name, "number", col_name)
            elif col_name.endswith("_minor") and "currency" in columns:
                name = col_name.removesuffix("_minor")
                out[name] = FieldDef(name, "money", col_name, currency_column="currency")
                out[col_name] = FieldDef(col_name, "number", col_name)
            elif col_name == "custom":
                continue
            else:
                out.setdefault(col_name, FieldDef(col_name, _kind(column), col_name))
        # tasks point at "any record" with record_type + record_id
        self._fields[entity] = out
        return out

    def label_column(self, entity: str) -> str | None:
        fields = self.fields(entity)
        return next((c for c in LABEL_COLUMNS if c in fields), None)

    def resolve(
        self, entity: str, text: str, custom_defs: dict[tuple[str, str], str] | None = None
    ) -> FieldPath:
        """Parse a field path on ``entity``; ``ValueError`` says what is wrong."""
        parts = [p for p in text.strip().split(".")]
        if not text.strip() or any(not p for p in parts):
            raise ValueError(f"{text!r} is not a field name")
        steps: list[FieldDef] = []
        current = entity
        for i, part in enumerate(parts):
            fields = self.fields(current)
            if part == "custom" and i == len(parts) - 2:
                key = parts[-1]
                if "custom" not in {c._meta.db_column_name for c in self._columns(current)}:
                    raise ValueError(f"{current} has no custom fields")
                kind = None
                if custom_defs is not None:
                    found = custom_defs.get((current, key))
                    if found is None:
                        known = sorted(k for (e, k) in custom_defs if e == current)
                        hint = f" Known: {', '.join(known)}." if known else ""
                        raise ValueError(f"{current} has no custom field {key!r}.{hint}")
                    kind = CUSTOM_KINDS.get(found, "text")
                custom = FieldDef("custom", "json", "custom")
                return FieldPath(text, entity, (*steps, custom), key, kind or "any")
            field = fields.get(part)
            if field is None:
                known = sorted(n for n in fields if not n.endswith("_id") or n == "id")
                raise ValueError(
                    f"{current} has no field {part!r}. Fields: {', '.join(known)}"
                    + (", custom.<key>" if "custom" in self._column_names(current) else "")
                )
            steps.append(field)
            if i < len(parts) - 1:
                if field.kind != "ref" or field.ref is None:
                    raise ValueError(f"{current}.{part} is not a related record: cannot use '.'")
                if len(steps) >= MAX_DEPTH:
                    raise ValueError(f"{text!r} follows more than {MAX_DEPTH - 1} references")
                current = field.ref
        return FieldPath(text, entity, tuple(steps))

    def _columns(self, entity: str) -> list[Any]:
        table = self.table(entity)
        return list(table._meta.columns) if table is not None else []

    def _column_names(self, entity: str) -> set[str]:
        return {c._meta.db_column_name for c in self._columns(entity)}


CATALOG = Catalog()


# Small, rarely changing tables whose rows the engine keeps between events (evicted when
# their own events pass by, and after a few seconds in any case: another process may have
# changed them).
REFERENCE_ENTITIES = frozenset({"user", "team", "stage", "pipeline"})
REFERENCE_TTL_S = 5.0


class ReferenceCache:
    """Rows of reference entities (users, teams, stages, pipelines) shared across events."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], tuple[float, dict[str, Any] | None]] = {}

    def get(self, key: tuple[str, int]) -> tuple[bool, dict[str, Any] | None]:
        hit = self._rows.get(key)
        if hit is None or time.monotonic() - hit[0] > REFERENCE_TTL_S:
            return False, None
        return True, hit[1]

    def put(self, key: tuple[str, int], row: dict[str, Any] | None) -> None:
        if len(self._rows) > 10_000:
            self._rows.clear()
        self._rows[key] = (time.monotonic(), row)

    def evict(self, entity: str | None, record_id: int | None) -> None:
        if entity in REFERENCE_ENTITIES and record_id is not None:
            self._rows.pop((entity, record_id), None)


class Loader:
    """Reads records (and related records) once per evaluation.

    Rows are kept as the database returned them; a column is decoded (timestamps, JSON,
    booleans) only when a condition reads it, and :meth:`view` decodes a whole record for
    templates — most events read two or three columns of a row.
    """

    def __init__(
        self, fetch: Fetch, statements: Statements, references: ReferenceCache | None = None
    ) -> None:
        self.fetch = fetch
        self.statements = statements
        self.references = references
        self._rows: dict[tuple[str, int], dict[str, Any] | None] = {}

    def forget(self) -> None:
        self._rows.clear()

    def remember(self, entity: str, row: dict[str, Any]) -> None:
        self._rows[(entity, row["id"])] = row

    async def row(self, entity: str, record_id: int | None) -> dict[str, Any] | None:
        if record_id is None:
            return None
        key = (entity, record_id)
        if key in self._rows:
            return self._rows[key]
        shared = self.references if entity in REFERENCE_ENTITIES else None
        if shared is not None:
            found, cached = shared.get(key)
            if found:
                self._rows[key] = cached
                return cached
        table = CATALOG.table(entity)
        if table is None:
            return None
        rows = await self.fetch(self.statements.select_where(table, ["id"]), [record_id])
        row = rows[0] if rows else None
        self._rows[key] = row
        if shared is not None:
            shared.put(key, row)
        return row

    async def ref(self, entity: str, record_id: Any) -> RefValue | None:
        if record_id is None:
            return None
        row = await self.row(entity, int(record_id))
        if row is None:
            return RefValue(int(record_id), None)
        label = CATALOG.label_column(entity)
        return RefValue(row["id"], row.get(label) if label else None, row.get("email"))

    async def is_empty(self, path: FieldPath, row: dict[str, Any] | None) -> bool | None:
        """Whether a direct reference is empty, without loading the related record
        (``None`` when the path is not one)."""
        if not path.direct or path.last.kind != "ref" or path.custom_key is not None:
            return None
        return row is None or row.get(path.last.column or "") is None

    async def value(self, path: FieldPath, row: dict[str, Any] | None) -> Any:
        """The value of ``path`` on ``row`` (``None`` when a link on the way is empty)."""
        entity = path.entity
        for step in path.steps[:-1]:
            if row is None:
                return None
            assert step.ref is not None
            entity = step.ref
            row = await self.row(entity, row.get(step.column or ""))
        if row is None:
            return None
        last = path.last
        if path.custom_key is not None:
            return (self.decoded(entity, "custom", row.get("custom")) or {}).get(path.custom_key)
        raw = row.get(last.column or "")
        if last.kind in ("datetime", "date", "bool", "json"):
            raw = self.decoded(entity, last.column or "", raw)
        return await self.convert(entity, last, raw, row)

    def decoded(self, entity: str, column: str, raw: Any) -> Any:
        """One stored value as Python sees it."""
        if raw is None:
            return None
        table = CATALOG.table(entity)
        if table is None:
            return raw
        return self.statements.codec(table).decode({column: raw})[column]

    async def convert(
        self, entity: str, field: FieldDef, raw: Any, row: dict[str, Any] | None
    ) -> Any:
        """A stored value as conditions compare it (ids → RefValue, minor → major)."""
        if raw is None:
            return None
        if field.kind == "ref":
            assert field.ref is not None
            return await self.ref(field.ref, raw)
        if field.kind == "money":
            currency = (row or {}).get(field.currency_column or "currency") or "EUR"
            return Decimal(to_major(int(raw), currency))
        return raw

    async def view(
        self, entity: str, row: dict[str, Any] | None, names: set[str] | None = None
    ) -> dict[str, Any] | None:
        """The record for templates: its columns, plus each reference by its label
        (``deal.stage`` → ``"Discovery"``) and money in major units (``deal.value``).
        With ``names``, only those references are looked up (the ones templates use)."""
        if row is None:
            return None
        table = CATALOG.table(entity)
        out = self.statements.codec(table).decode(dict(row)) if table is not None else dict(row)
        for name, field in CATALOG.fields(entity).items():
            if names is not None and name not in names:
                continue
            if field.kind == "ref" and name not in row:
                ref = await self.convert(entity, field, row.get(field.column or ""), row)
                out[name] = str(ref) if ref is not None else None
            elif field.kind == "money":
                value = await self.convert(entity, field, row.get(field.column or ""), row)
                out[name] = str(value) if value is not None else None
        return out
