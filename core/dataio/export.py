"""Any list as CSV or JSON lines, streamed in constant memory.

:func:`export_stream` yields the file in text chunks, one page of records at a time (keyset
pagination on the id, so a page costs the same at row 10 and at row 1,000,000 and nothing
else is held in memory). Columns are the entity's output fields, then one ``custom.<key>``
column per custom field defined for it; JSON lines carry each record as the API shows it,
custom fields included. CSV cells that a spreadsheet would run as a formula (starting with
``=`` or ``@``) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ..commands import CommandSpec, command
from ..context import Context
from ..db.statements import quote
from ..entities._common import Entity, Input
from ..entities.people import CONTACT, ORGANIZATION
from ..entities.sales import DEAL, LEAD
from ..entities.work import ACTIVITY, TASK, TICKET
from ..errors import FieldError, KithError
from ..permissions import Actor
from ..tables import ContactEmail
from .plan import custom_defs
from .sql import bind, typed

if TYPE_CHECKING:
    from ..runtime import Kith

PAGE = 500
EXPORTABLE: dict[str, Entity] = {}
for _e in (CONTACT, ORGANIZATION, DEAL, LEAD, ACTIVITY, TASK, TICKET):
    EXPORTABLE[_e.name] = EXPORTABLE[f"{_e.name}s" if _e.name != "activity" else "activities"] = _e
Format = Literal["csv", "jsonl"]


def entity_for(name: str) -> Entity:
    entity = EXPORTABLE.get(name.strip().lower())
    if entity is None:
        names = ", ".join(sorted(k for k in EXPORTABLE if k.endswith("s")))
        raise KithError(
            "invalid_input",
            f"entity: cannot export {name!r}; choose one of {names}",
            [FieldError("entity", f"choose one of {names}")],
        )
    return entity


def _filter_sql(
    kith: Kith, entity: Entity, filters: dict[str, Any], include_archived: bool
) -> tuple[list[str], list[Any]]:
    """``column = value`` conditions on the entity's own columns (names checked against the
    table, values bound)."""
    codec = kith.db.statements.codec(entity.table)
    conditions: list[str] = [] if include_archived else ['"archived_at" IS NULL']
    params: list[Any] = []
    for name, value in filters.items():
        column = name if name in codec.column_set else f"{name}_id"
        if column not in codec.column_set or column in codec.json_columns:
            raise KithError(
                "invalid_input",
                f"filter: {entity.name}s have no field {name!r}",
                [FieldError(f"filter.{name}", "not a field of this list", "unknown_field")],
            )
        if value is None or value == "":
            conditions.append(f"{quote(column)} IS NULL")
            continue
        try:
            value = typed(entity.table, column, value)
        except ValueError as exc:
            raise KithError(
                "invalid_input",
                f"filter: {name}: {exc}",
                [FieldError(f"filter.{name}", str(exc))],
            ) from None
        conditions.append(f"{quote(column)} = ?")
        params.append(codec.encode(column, value))
    return conditions, params


async def _page(
    kith: Kith, entity: Entity, conditions: list[str], params: list[Any], after: int
) -> list[dict[str, Any]]:
    st = kith.db.statements
    where = " AND ".join([*conditions, '"id" > ?'])
    sql = f'SELECT * FROM {quote(entity.table._meta.tablename)} WHERE {where} ORDER BY "id" LIMIT ?'  # noqa: S608
    sql = bind(st, sql)
    codec = st.codec(entity.table)
    return [codec.decode(r) for r in await kith.db.fetch(sql, [*params, after, PAGE])]


async def _present(ctx: Context, entity: Entity, rows: list[dict[str, Any]]) -> list[dict]:
    if entity is CONTACT and rows:
        st = ctx.kith.db.statements
        marks = ", ".join(st.placeholders(len(rows)))
        emails = await ctx.fetch(
            f'SELECT * FROM {quote(ContactEmail._meta.tablename)} WHERE "contact_id" IN ({marks}) '  # noqa: S608
            'ORDER BY "id"',
            [r["id"] for r in rows],
        )
        by_contact: dict[int, list[dict[str, Any]]] = {}
        for e in emails:
            by_contact.setdefault(e["contact_id"], []).append(
                {
                    "email": e["email"],
                    "primary": bool(e["is_primary"]),
                    "undeliverable": bool(e["undeliverable"]),
                }
            )
        rows = [{**r, "emails": by_contact.get(r["id"], [])} for r in rows]
    out = []
    for r in rows:
        record = await entity.present(ctx, r)
        out.append(entity.output.model_validate(record).model_dump(mode="json"))
    return out


def columns(entity: Entity, custom_keys: list[str]) -> list[str]:
    fields = [f for f in entity.output.model_fields if f != "custom"]
    return [*fields, *(f"custom.{k}" for k in custom_keys)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(v.get("email", v)) if isinstance(v, dict) else _cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return "'" + text if text[:1] in ("=", "@") else text


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


async def _noop(ctx: Context, data: Any) -> None:
    """Export (a read)."""


EXPORT_SPEC = CommandSpec(
    "export.run", _noop, Input, None, "exports.manage", read_only=True, description="Export."
)


class Export:
    """One export: checked on creation, then :meth:`pages` of records and :meth:`text`."""

    def __init__(
        self,
        kith: Kith,
        actor: Actor,
        entity_name: str,
        *,
        fmt: str = "csv",
        filters: dict[str, Any] | None = None,
        include_archived: bool = False,
    ) -> None:
        self.entity = entity_for(entity_name)
        actor.require("exports.manage", "export")
        actor.require(f"{self.entity.area}.read", "export")
        if fmt not in ("csv", "jsonl"):
            raise KithError(
                "invalid_input",
                "format: choose csv or jsonl",
                [FieldError("format", "choose csv or jsonl")],
            )
        self.kith = kith
        self.fmt = fmt
        self.conditions, self.params = _filter_sql(
            kith, self.entity, filters or {}, include_archived
        )
        self.ctx = Context(kith, actor, EXPORT_SPEC, None)
        self.header: list[str] = []

    async def start(self) -> str:
        """The CSV header line (empty for JSON lines)."""
        keys = [d["key"] for d in await custom_defs(self.kith, self.entity.name)]
        self.header = columns(self.entity, keys)
        return _csv_line(self.header) if self.fmt == "csv" else ""

    async def pages(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Records as the API shows them, a page at a time, in id order."""
        after = 0
        while True:
            rows = await _page(self.kith, self.entity, self.conditions, self.params, after)
            if not rows:
                return
            after = rows[-1]["id"]
            yield await _present(self.ctx, self.entity, rows)

    def text(self, records: list[dict[str, Any]]) -> str:
        if self.fmt == "jsonl":
            return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for r in records:
            custom = r.get("custom") or {}
            writer.writerow(
                [
                    _cell(custom.get(c[7:])) if c.startswith("custom.") else _cell(r.get(c))
                    for c in self.header
                ]
            )
        return buffer.getvalue()


async def export_stream(
    kith: Kith,
    actor: Actor,
    entity_name: str,
    *,
    fmt: str = "csv",
    filters: dict[str, Any] | None = None,
    include_archived: bool = False,
) -> AsyncIterator[str]:
    """The export of ``entity_name`` as text chunks: a CSV header and a chunk per page, or
    JSON lines. ``actor`` needs ``exports.manage`` and the entity's read permission."""
    export = Export(
        kith, actor, entity_name, fmt=fmt, filters=filters, include_archived=include_archived
    )
    head = await export.start()
    if head:
        yield head
    async for records in export.pages():
        yield export.text(records)


class ExportInput(Input):
    entity: str = Field(
        description="contacts, organizations, deals, leads, activities, tasks, tickets"
    )
    format: Format = "csv"
    filters: dict[str, str | int | None] = Field(
        default_factory=dict, description="field = value, e.g. {'owner': 3, 'stage': 12}"
    )
    include_archived: bool = False
    limit: int = Field(10_000, ge=1, le=100_000, description="Most rows returned inline")


class ExportOut(BaseModel):
    entity: str
    format: str
    rows: int
    truncated: bool
    content: str


@command(
    "export.run", input=ExportInput, output=ExportOut, permission="exports.manage", read_only=True
)
async def run_export(ctx: Context, data: ExportInput) -> dict[str, Any]:
    """Export a list (contacts, organizations, deals, leads, activities, tasks, tickets) as
    CSV or JSON lines, with custom fields as columns. Inline up to ``limit`` rows; the CLI
    (kith export) and the API stream any size."""
    export = Export(
        ctx.kith,
        ctx.actor,
        data.entity,
        fmt=data.format,
        filters=data.filters,
        include_archived=data.include_archived,
    )
    head = await export.start()
    records: list[dict[str, Any]] = []
    async for page in export.pages():
        records.extend(page)
        if len(records) > data.limit:
            break
    shown = records[: data.limit]
    return {
        "entity": export.entity.name,
        "format": data.format,
        "rows": len(shown),
        "truncated": len(records) > data.limit,
        "content": head + export.text(shown),
    }


COMMANDS = [run_export]
