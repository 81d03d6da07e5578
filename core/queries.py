"""``<entity>.list``: pages of records with text search, filters, sorting and cursors.

Generated for every core entity, like :func:`kith.entities._common.crud`::

    contact.list {"q": "ada", "filter": {"owner": "me", "custom.tier": ["Gold", "Silver"],
                  "tag": "vip", "created_at": {"gte": "2026-01-01"}},
                  "sort": "-created_at", "limit": 50}
    → {"items": [...], "next_cursor": "eyJ..."}   (pass it back as "cursor" for the next page)

Filters name a column (``stage_id``, or ``stage`` for short), a custom field
(``custom.<key>``) or ``tag``; a value is an exact match, a list means "any of", ``null``
means empty, and an object applies operators (``eq ne in gt gte lt lte null contains``).
Unknown fields and operators are errors naming them. Identifiers come only from table
metadata and custom field definitions; every value is a bound parameter. Visibility
(:mod:`kith.visibility`) limits every page to what the actor may see.
"""

# SQL here is assembled from quoted identifiers of table metadata and Params placeholders;
# every value is a bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from piccolo.columns import (
    JSON,
    JSONB,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Serial,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from pydantic import BaseModel, Field, create_model, field_validator

from .commands import CommandSpec, command
from .custom_fields import Definition, definitions
from .db.params import Params
from .db.statements import quote
from .entities._common import Entity, Input
from .errors import FieldError, KithError, invalid
from .tables import User
from .tags import normalise_tag
from .visibility import sql_condition

if TYPE_CHECKING:
    from .context import Context

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_IN = 500
OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "null", "contains")
COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

# Sortable columns besides id, created_at and updated_at.
SORTABLE: dict[str, tuple[str, ...]] = {
    "user": ("name", "email", "role"),
    "team": ("name",),
    "organization": ("name", "domain", "country"),
    "contact": ("name", "email", "lifecycle_stage"),
    "lead": ("name", "email", "company", "status", "score"),
    "pipeline": ("name", "position"),
    "stage": ("name", "position", "probability"),
    "deal": (
        "title",
        "value_minor",
        "expected_close",
        "stage_changed_at",
        "closed_at",
        "status",
        "next_activity_at",
    ),
    "activity": ("occurred_at", "kind"),
    "task": ("due_at", "title", "status", "completed_at"),
    "ticket": ("subject", "status", "priority"),
}


# ---- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A filterable column: its name, value kind (int, str, bool, datetime, date), whether it
    may be null, and whether it holds a user id (so ``"me"`` works)."""

    name: str
    kind: str
    null: bool
    user: bool


def _kind(col: Any) -> str | None:
    if isinstance(col, JSON | JSONB):
        return None
    if isinstance(col, Serial | Integer | BigInt | SmallInt | ForeignKey):
        return "int"
    if isinstance(col, Boolean):
        return "bool"
    if isinstance(col, Timestamptz):
        return "datetime"
    if isinstance(col, Date):
        return "date"
    if isinstance(col, Varchar | Text):
        return "str"
    return None


_COLUMNS: dict[type, dict[str, Column]] = {}


def columns_of(entity: Entity) -> dict[str, Column]:
    """Filterable columns of an entity (JSON columns excluded), plus ``x`` for each ``x_id``."""
    cached = _COLUMNS.get(entity.table)
    if cached is None:
        cached = _COLUMNS[entity.table] = _columns(entity)
    return cached


def _columns(entity: Entity) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for col in entity.table._meta.columns:
        name = col._meta.db_column_name
        kind = _kind(col)
        if kind is None:
            continue
        user = name in ("created_by", "actor_user_id") or (
            isinstance(col, ForeignKey) and col._foreign_key_meta.resolved_references is User
        )
        out[name] = Column(name, kind, bool(col._meta.null) or name == "archived_at", user)
    for name, column in list(out.items()):
        if name.endswith("_id") and name[:-3] not in out:
            out[name[:-3]] = column
    return out


def _coerce(ctx: Context, column: Column, value: Any, field: str) -> Any:
    """A filter value as the column's Python type; errors name ``field``."""
    if column.user and isinstance(value, str) and value.strip().lower() == "me":
        if ctx.actor.user_id is None:
            raise invalid(field, "'me' needs a signed-in user")
        return ctx.actor.user_id
    try:
        if column.kind == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = value.strip().removeprefix("#")
            return int(value)
        if column.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if column.kind == "str":
            if isinstance(value, bool | dict | list):
                raise ValueError
            return str(value)
        if column.kind == "date":
            return date.fromisoformat(str(value))
        if column.kind == "datetime":
            return _datetime(value)
    except (ValueError, TypeError):
        pass
    expected = {
        "int": "a number (an id)",
        "bool": "true or false",
        "str": "text",
        "date": "a date such as 2026-03-31",
        "datetime": "a date or a time with its zone, e.g. 2026-03-31T09:00:00+02:00",
    }[column.kind]
    raise invalid(field, f"{value!r} is not {expected}")


def _datetime(value: Any) -> datetime:
    text = str(value).strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError
    return parsed


# ---- filters ---------------------------------------------------------------------------------


def _operators(value: Any, field: str) -> list[tuple[str, Any]]:
    """``{"gte": 1, "lt": 5}`` → ``[("gte", 1), ("lt", 5)]``; a list → in; else eq."""
    if isinstance(value, dict):
        if not value:
            raise invalid(field, "give a value or an operator (" + ", ".join(OPERATORS) + ")")
        ops = []
        for op, operand in value.items():
            if op not in OPERATORS:
                raise KithError(
                    "invalid_input",
                    f"{field}: unknown operator {op!r} (use {', '.join(OPERATORS)})",
                    [FieldError(f"{field}.{op}", "is not an operator", "unknown_operator")],
                )
            ops.append((op, operand))
        return ops
    if isinstance(value, list):
        return [("in", value)]
    return [("eq", value)]


def _in_list(operand: Any, field: str) -> list[Any]:
    if not isinstance(operand, list) or not operand:
        raise invalid(field, "'in' takes a non-empty list")
    if len(operand) > MAX_IN:
        raise invalid(field, f"'in' takes at most {MAX_IN} values")
    return operand


def _column_condition(
    ctx: Context,
    column: Column,
    sql_col: str,
    op: str,
    operand: Any,
    field: str,
    p: Params,
    encode: Any,
) -> str:
    def bind(v: Any) -> str:
        return p(encode(_coerce(ctx, column, v, field)))

    if op == "null":
        if not isinstance(operand, bool):
            raise invalid(field, "'null' takes true or false")
        return f"{sql_col} IS {'' if operand else 'NOT '}NULL"
    if op in ("eq", "ne") and operand is None:
        return f"{sql_col} IS {'' if op == 'eq' else 'NOT '}NULL"
    if op == "eq":
        return f"{sql_col} = {bind(operand)}"
    if op == "ne":
        return f"({sql_col} <> {bind(operand)} OR {sql_col} IS NULL)"
    if op == "in":
        return f"{sql_col} IN (" + ", ".join(bind(v) for v in _in_list(operand, field)) + ")"
    if op in COMPARISONS:
        if column.kind == "bool":
            raise invalid(field, f"{op!r} does not apply to true/false values")
        return f"{sql_col} {COMPARISONS[op]} {bind(operand)}"
    if op == "contains":
        if column.kind != "str" or not isinstance(operand, str):
            raise invalid(field, "'contains' applies to text and takes text")
        escaped = operand.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"lower({sql_col}) LIKE {p('%' + escaped + '%')} ESCAPE '\\'"
    raise invalid(field, f"unknown operator {op!r}")  # pragma: no cover


def _tag_condition(entity: Entity, op: str, operand: Any, field: str, p: Params) -> str:
    def names(values: list[Any]) -> str:
        try:
            return p.many([normalise_tag(str(v)) for v in values])
        except ValueError as exc:
            raise invalid(field, str(exc)) from None

    def tagged() -> str:
        return (
            'SELECT rt."record_id" FROM "record_tags" rt JOIN "tags" tg ON tg."id" = rt."tag_id" '
            f'WHERE rt."entity" = {p(entity.name)} AND tg."name" IN '
        )

    if op == "eq" and operand is not None:
        return f'"id" IN ({tagged()}{names([operand])})'
    if op == "in":
        return f'"id" IN ({tagged()}{names(_in_list(operand, field))})'
    if op == "ne" and operand is not None:
        return f'"id" NOT IN ({tagged()}{names([operand])})'
    if op == "null" and isinstance(operand, bool):
        any_tag = (
            f'SELECT rt."record_id" FROM "record_tags" rt WHERE rt."entity" = {p(entity.name)}'
        )
        return f'"id" {"NOT " if operand else ""}IN ({any_tag})'
    raise invalid(field, "tags take a name, a list of names, {'ne': name} or {'null': bool}")


def _custom_value(ctx: Context, d: Definition, value: Any, field: str) -> Any:
    """A filter operand for custom field ``d`` (options matched case-insensitively; values of
    removed options are still searchable)."""
    if d.type in ("number",):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise invalid(field, "must be a number")
        try:
            number = float(value)
        except ValueError:
            raise invalid(field, f"{value!r} is not a number") from None
        return int(number) if number.is_integer() else number
    if d.type == "money":
        text = str(value).split()[0] if isinstance(value, str) and value.split() else value
        try:
            return float(text)
        except (TypeError, ValueError):
            raise invalid(field, f"{value!r} is not an amount such as 12000.50") from None
    if d.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(field, "must be true or false")
    if d.type == "user":
        if isinstance(value, str) and value.strip().lower() == "me":
            return ctx.actor.user_id
        try:
            return int(str(value).removeprefix("#"))
        except ValueError:
            raise invalid(field, "give a user id or 'me'") from None
    if d.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise invalid(field, f"{value!r} is not a date such as 2026-03-31") from None
    if not isinstance(value, str):
        raise invalid(field, "must be text")
    for option in d.options:
        if option.lower() == value.strip().lower():
            return option
    return value


def _custom_condition(
    ctx: Context, d: Definition, op: str, operand: Any, field: str, p: Params
) -> str:
    pg = ctx.kith.db.dialect == "postgres"
    key = d.key

    def contains(v: Any) -> str:
        # PostgreSQL: containment, served by the GIN index on custom::jsonb.
        doc = {key: [v] if d.type == "multi-choice" else v}
        return f'("custom"::jsonb) @> {p(json.dumps(doc))}::jsonb'

    # Fragments are built on use: PostgreSQL refuses parameters the statement never uses.
    def text() -> str:
        if pg:
            return f'("custom"::jsonb ->> {p(key)})'
        return f'json_extract("custom", {p("$." + key)})'

    def compare(op: str, v: Any) -> str:
        """``value <op> v`` for numbers, amounts and ISO dates, parsing the JSON once a row;
        values of another type never match."""
        sign = COMPARISONS[op]
        if pg and d.type in ("number", "money"):
            path = f'$."{key}"' + ('."amount"' if d.type == "money" else "")
            at = "@.double()" if d.type == "money" else "@"
            return (
                f'jsonb_path_exists("custom"::jsonb, {p(f"{path} ? ({at} {sign} $v)")}::jsonpath, '
                f"{p(json.dumps({'v': v}))}::jsonb)"
            )
        if pg:
            return f'{text()} COLLATE "C" {sign} {p(v)}'
        if d.type == "money":
            return f'(json_extract("custom", {p("$." + key + ".amount")}) + 0) {sign} {p(v)}'
        if d.type == "number":  # + 0: text (never written, but possible) compares as a number
            return f"({text()} + 0) {sign} {p(v)}"
        return f"{text()} {sign} {p(v)}"

    def present() -> str:
        return f'("custom"::jsonb -> {p(key)})' if pg else text()

    def member(v: Any) -> str:
        if pg:
            return contains(v)
        return (
            f'EXISTS (SELECT 1 FROM json_each("custom", {p("$." + key)}) '
            f"WHERE json_each.value = {p(v)})"
        )

    def equals(v: Any) -> str:
        if d.type == "multi-choice":
            return member(v)
        if pg and d.type not in ("money",):
            return contains(v)
        if not pg and d.type == "bool":
            return f"{text()} = {p(1 if v else 0)}"
        if d.type == "money":
            return compare("gte", v) + " AND " + compare("lte", v)
        return f"{text()} = {p(v)}"

    if op == "null":
        if not isinstance(operand, bool):
            raise invalid(field, "'null' takes true or false")
        return f"{present()} IS {'' if operand else 'NOT '}NULL"
    if op in ("eq", "ne") and operand is None:
        return f"{present()} IS {'' if op == 'eq' else 'NOT '}NULL"
    if op == "eq":
        return equals(_custom_value(ctx, d, operand, field))
    if op == "ne":
        return f"({present()} IS NULL OR NOT ({equals(_custom_value(ctx, d, operand, field))}))"
    if op == "in":
        values = [_custom_value(ctx, d, v, field) for v in _in_list(operand, field)]
        return "(" + " OR ".join(equals(v) for v in values) + ")"
    if op in COMPARISONS:
        if d.type not in ("number", "money", "date"):
            raise invalid(field, f"{op!r} applies to number, money and date fields")
        return compare(op, _custom_value(ctx, d, operand, field))
    if op == "contains":
        if d.type not in ("text", "url") or not isinstance(operand, str):
            raise invalid(field, "'contains' applies to text fields and takes text")
        escaped = operand.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"lower({text()}) LIKE {p('%' + escaped + '%')} ESCAPE '\\'"
    raise invalid(field, f"unknown operator {op!r}")  # pragma: no cover


async def filter_conditions(
    ctx: Context, entity: Entity, filters: dict[str, Any], p: Params, prefix: str = "filter"
) -> list[str]:
    """SQL conditions for ``filters`` (see the module docstring); errors name
    ``filter.<field>``."""
    columns = columns_of(entity)
    codec = ctx.kith.db.statements.codec(entity.table)
    conds: list[str] = []
    defs: dict[str, Definition] | None = None
    for name, value in filters.items():
        field = f"{prefix}.{name}"
        if name == "tag":
            conds.extend(
                _tag_condition(entity, op, v, field, p) for op, v in _operators(value, field)
            )
            continue
        if name.startswith("custom."):
            if defs is None:
                defs = await definitions(ctx, entity.name)
            key = name.removeprefix("custom.")
            d = defs.get(key)
            if d is None:
                known = ", ".join(f"custom.{k}" for k in defs) or "none defined"
                raise KithError(
                    "invalid_input",
                    f"{field}: {entity.name}s have no custom field {key!r} ({known})",
                    [FieldError(field, "is not a custom field of this entity", "unknown_field")],
                )
            conds.extend(
                _custom_condition(ctx, d, op, v, field, p) for op, v in _operators(value, field)
            )
            continue
        column = columns.get(name)
        if column is None:
            known = sorted({c for c in columns} | {"tag", "custom.<key>"})
            raise KithError(
                "invalid_input",
                f"{field}: {entity.name}s cannot be filtered on {name!r}; fields: "
                + ", ".join(known),
                [FieldError(field, "is not a field of this entity", "unknown_field")],
            )
        sql_col = quote(column.name)

        def encode(v: Any, c: str = column.name) -> Any:
            return codec.encode(c, v)

        conds.extend(
            _column_condition(ctx, column, sql_col, op, v, field, p, encode)
            for op, v in _operators(value, field)
        )
    return conds


# ---- cursors ---------------------------------------------------------------------------------


def _key(ctx: Context) -> bytes:
    secret = ctx.kith.settings.secret_key or "kith-cursor"
    return hashlib.sha256(b"kith-cursor:" + secret.encode()).digest()


def fingerprint(*parts: Any) -> str:
    """A short digest of what a query asked (a cursor only continues the same query)."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(ctx: Context, position: list[Any], query: str) -> str:
    """An opaque, signed cursor holding a position in the results of ``query``."""
    body = base64.urlsafe_b64encode(
        json.dumps({"p": position, "q": query}, default=str, separators=(",", ":")).encode()
    ).rstrip(b"=")
    sig = hmac.new(_key(ctx), body, hashlib.sha256).digest()[:12]
    return (body + b"." + base64.urlsafe_b64encode(sig).rstrip(b"=")).decode()


def decode_cursor(ctx: Context, cursor: str, query: str) -> list[Any]:
    """The position in ``cursor``; a malformed, altered or foreign cursor is an error naming
    the ``cursor`` field."""
    try:
        body, sig = cursor.encode("ascii").split(b".")
        expected = hmac.new(_key(ctx), body, hashlib.sha256).digest()[:12]
        given = base64.urlsafe_b64decode(sig + b"=" * (-len(sig) % 4))
        if not hmac.compare_digest(expected, given):
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        position = data["p"]
        if not isinstance(position, list):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise KithError(
            "invalid_input",
            "cursor: not a cursor this query handed out (pass next_cursor back unchanged)",
            [FieldError("cursor", "is malformed", "invalid_cursor")],
        ) from None
    if data.get("q") != query:
        raise KithError(
            "invalid_input",
            "cursor: it continues another query; keep q, filter and sort the same between pages",
            [FieldError("cursor", "belongs to another query", "invalid_cursor")],
        )
    return position


def check_limit(value: int) -> int:
    if value > MAX_LIMIT:
        raise ValueError(f"at most {MAX_LIMIT} records per page; use next_cursor for more")
    return value


# ---- the list command ------------------------------------------------------------------------


class ListInput(Input):
    q: str | None = Field(None, max_length=200, description="Text to search for")
    filter: dict[str, Any] = Field(
        default_factory=dict,
        description="field → value, [values], null, or {op: value}; custom.<key>; tag",
    )
    sort: str | None = Field(None, max_length=64, description="A field; '-field' for descending")
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the last page")
    limit: int = Field(DEFAULT_LIMIT, ge=1, description=f"Records per page (≤ {MAX_LIMIT})")
    include_archived: bool = False

    _limit = field_validator("limit")(check_limit)


def _sort(entity: Entity, sort: str | None) -> tuple[str, bool]:
    if not sort:
        return "id", True
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    allowed = ("id", "created_at", "updated_at", *SORTABLE.get(entity.name, ()))
    if name not in allowed:
        raise invalid("sort", f"cannot sort on {name!r}; choose from {', '.join(allowed)}")
    return name, descending


async def list_page(ctx: Context, entity: Entity, data: ListInput) -> dict[str, Any]:
    """One page of ``entity`` records as ``data`` asks (the body of ``<entity>.list``)."""
    from .search import SearchQuery, terms, text_condition

    p = Params(ctx.kith.db.dialect)
    codec = ctx.kith.db.statements.codec(entity.table)
    sort_col, descending = _sort(entity, data.sort)
    conds = await filter_conditions(ctx, entity, data.filter, p)
    if not data.include_archived and "archived_at" not in data.filter:
        conds.append('"archived_at" IS NULL')
    if data.q:
        query = SearchQuery(data.q, tuple(terms(data.q)))
        cond = text_condition(ctx, entity.name, query, p)
        if cond is None:
            parts = []
            for t in query.terms:
                pattern = p(f"%{t}%")
                parts.append(
                    "("
                    + " OR ".join(f"lower({quote(c)}) LIKE {pattern}" for c in entity.text_columns)
                    + ")"
                )
            cond = " AND ".join(parts)
        conds.append(cond)
    visible = await sql_condition(ctx, entity.name, p)
    if visible:
        conds.append(visible)
    query_id = fingerprint(
        entity.name, data.q, data.filter, sort_col, descending, data.include_archived
    )
    nullable = columns_of(entity)[sort_col].null
    col, cmp = quote(sort_col), "<" if descending else ">"
    if data.cursor:
        last_value, last_id = decode_cursor(ctx, data.cursor, query_id)
        column = columns_of(entity)[sort_col]
        if last_value is None:
            conds.append(f'({col} IS NULL AND "id" {cmp} {p(last_id)})')
        else:
            v = p(codec.encode(sort_col, _coerce(ctx, column, last_value, "cursor")))
            after = f'({col} {cmp} {v} OR ({col} = {v} AND "id" {cmp} {p(last_id)}))'
            conds.append(f"({after} OR {col} IS NULL)" if nullable else after)
    order = f"{col}{' DESC' if descending else ''}"
    if sort_col != "id":
        order += f', "id"{" DESC" if descending else ""}'
    if nullable:
        order = f"({col} IS NULL), {order}"
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    sql = (
        f"SELECT *, {_tags_column(ctx, entity, p)} AS _kith_tags "
        f"FROM {quote(codec.tablename)}{where} ORDER BY {order} LIMIT {p(data.limit + 1)}"
    )
    rows = []
    for r in await ctx.fetch(sql, p.values):
        tags = r.pop("_kith_tags")
        r = codec.decode(r)
        r["tags"] = sorted(json.loads(tags) if isinstance(tags, str) else tags or [])
        rows.append(r)
    next_cursor = None
    if len(rows) > data.limit:
        rows = rows[: data.limit]
        last = rows[-1]
        value = last[sort_col]
        if isinstance(value, datetime | date):
            value = value.isoformat()
        next_cursor = encode_cursor(ctx, [value, last["id"]], query_id)
    items = await entity.present_rows(ctx, rows, tags=False)
    return {"items": items, "next_cursor": next_cursor}


def _tags_column(ctx: Context, entity: Entity, p: Params) -> str:
    """Each row's tags as a JSON array, in the page's own query (no second round trip)."""
    table = quote(entity.table._meta.tablename)
    agg = "json_agg" if ctx.kith.db.dialect == "postgres" else "json_group_array"
    return (
        f'(SELECT {agg}(tg."name") FROM "record_tags" rt JOIN "tags" tg ON tg."id" = rt."tag_id" '
        f'WHERE rt."entity" = {p(entity.name)} AND rt."record_id" = {table}."id")'
    )


def page_model(entity: Entity) -> type[BaseModel]:
    return create_model(
        f"{entity.name.title().replace('_', '')}Page",
        items=(list[entity.output], ...),  # type: ignore[name-defined]
        next_cursor=(str | None, None),
    )


def list_command(entity: Entity) -> CommandSpec:
    """``<entity>.list`` for ``entity``."""

    async def list_records(ctx: Context, data: ListInput) -> dict[str, Any]:
        return await list_page(ctx, entity, data)

    list_records.__doc__ = (
        f"List {entity.title} records, a page at a time: q (text), filter (field → value, "
        "[values], null or {op: value} with ops eq ne in gt gte lt lte null contains; "
        "custom.<key>; tag), sort ('-field' descending), cursor (next_cursor), limit (≤ 200). "
        "Only records the actor may see."
    )
    return command(
        f"{entity.name}.list",
        input=ListInput,
        output=page_model(entity),
        permission=f"{entity.area}.read",
        read_only=True,
    )(list_records)


async def matching_ids(
    ctx: Context, entity: str, filters: dict[str, Any], column: str = "id"
) -> list[int]:
    """The ids of every active ``entity`` record that ``filters`` match (the filter language
    of ``<entity>.list``) — or the distinct values of another id ``column`` of theirs
    (``contact_id`` of activities) — in one query, ignoring visibility: for plugins that
    keep memberships (segments), not for showing records to people. Errors name
    ``filter.<field>``."""
    from .entities._common import entities

    e = entities().get(entity)
    if e is None:
        raise invalid("entity", f"no entity is called {entity!r}")
    if column != "id" and column not in columns_of(e):
        raise invalid("column", f"{entity}s have no column {column!r}")
    p = Params(ctx.kith.db.dialect)
    conds = await filter_conditions(ctx, e, filters, p)
    if "archived_at" not in filters:
        conds.append('"archived_at" IS NULL')
    col = quote(columns_of(e)[column].name if column != "id" else "id")
    if column != "id":
        conds.append(f"{col} IS NOT NULL")
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    sql = f"SELECT DISTINCT {col} AS v FROM {quote(e.table._meta.tablename)}{where} ORDER BY {col}"
    return [r["v"] for r in await ctx.fetch(sql, p.values)]
