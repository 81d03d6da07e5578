"""Custom fields: people add their own fields to any entity, validated on every write.

A definition (``custom_field.define``) names an entity, a key, a label, a type, options for
choice types, and whether it is required. Values live in each record's ``custom`` JSON column,
written through the entity's usual commands (``contact.update {"custom": {"tier": "Gold"}}``)
and checked here by :func:`validate_custom`, the one function every write path calls.

Changing a definition never rewrites data: a value whose option was renamed or removed, or
whose field was archived, stays readable as it was and is flagged in ``custom_flags`` of the
record's output, so people can clean it up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field, field_validator

from .cache import Fetch, KithCache
from .commands import command
from .entities._common import Input, Record, entities
from .errors import FieldError, KithError, invalid, not_found
from .money import check_currency, to_major, to_minor
from .refs import as_id
from .tables import CustomFieldDef

if TYPE_CHECKING:
    from .context import Context
    from .runtime import Kith

FieldType = Literal[
    "text", "number", "money", "date", "bool", "choice", "multi-choice", "user", "url"
]
CHOICE_TYPES = ("choice", "multi-choice")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_TEXT = 10_000
MAX_URL = 2_000


@dataclass(frozen=True)
class Definition:
    """One custom field definition, as the validators use it."""

    id: int
    entity: str
    key: str
    label: str
    type: str
    options: tuple[str, ...]
    required: bool
    position: int
    archived: bool


def custom_entities() -> list[str]:
    """Entities whose records carry a ``custom`` column."""
    return sorted(
        name
        for name, e in entities().items()
        if "custom" in {c._meta.db_column_name for c in e.table._meta.columns}
    )


async def _load(kith: Kith, fetch: Fetch) -> dict[str, dict[str, Definition]]:
    codec = kith.db.statements.codec(CustomFieldDef)
    rows = await fetch('SELECT * FROM "custom_field_defs" ORDER BY "position", "id"', [])
    out: dict[str, dict[str, Definition]] = {}
    for r in rows:
        r = codec.decode(r)
        out.setdefault(r["entity"], {})[r["key"]] = Definition(
            id=r["id"],
            entity=r["entity"],
            key=r["key"],
            label=r["label"],
            type=r["type"],
            options=tuple(r["options"] or ()),
            required=bool(r["required"]),
            position=r["position"],
            archived=r["archived_at"] is not None,
        )
    return out


_cache: KithCache[dict[str, dict[str, Definition]]] = KithCache("custom_field_defs", _load)


async def definitions(ctx: Context, entity: str) -> dict[str, Definition]:
    """Every definition of ``entity`` (archived ones too), by key; cached per process."""
    return (await _cache.get(ctx)).get(entity, {})


# ---- values ------------------------------------------------------------------------------------


def _as_text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    text = value.strip()
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return text


def _as_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return int(value) if value.is_integer() else value
    try:
        number = Decimal(value.strip().replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return int(number) if number == number.to_integral_value() else float(number)


def _as_money(value: Any, field: str) -> dict[str, str]:
    if isinstance(value, dict):
        extra = set(value) - {"amount", "currency"}
        if extra or "amount" not in value or "currency" not in value:
            raise ValueError('give {"amount": "12000.50", "currency": "EUR"} or "12000.50 EUR"')
        amount, currency = value["amount"], value["currency"]
    elif isinstance(value, str) and len(value.split()) == 2:
        a, b = value.split()
        amount, currency = (b, a) if a.isalpha() else (a, b)
    else:
        raise ValueError('give {"amount": "12000.50", "currency": "EUR"} or "12000.50 EUR"')
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        raise ValueError("amount: give a decimal string such as '12000.50'")
    currency = check_currency(str(currency), field)
    return {"amount": to_major(to_minor(amount, currency, field), currency), "currency": currency}


def _as_date(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a date such as 2026-03-31")
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not a date (write e.g. 2026-03-31)") from None


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
        return value.strip().lower() in ("true", "yes")
    raise ValueError("must be true or false")


def _as_option(value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise ValueError("must be one of the options: " + ", ".join(options))
    for option in options:
        if option.lower() == value.strip().lower():
            return option
    raise ValueError(f"{value!r} is not an option (choose from {', '.join(options)})")


def _as_url(value: Any) -> str:
    text = _as_text(value, MAX_URL)
    parts = urlparse(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise ValueError(f"{value!r} is not a web address (e.g. https://example.com/page)")
    return text


async def coerce(ctx: Context, d: Definition, value: Any) -> Any:
    """The value to store for ``value`` given to field ``d`` (``ValueError`` if it is bad)."""
    field = f"custom.{d.key}"
    if d.type == "text":
        return _as_text(value, MAX_TEXT)
    if d.type == "number":
        return _as_number(value)
    if d.type == "money":
        return _as_money(value, field)
    if d.type == "date":
        return _as_date(value)
    if d.type == "bool":
        return _as_bool(value)
    if d.type == "choice":
        return _as_option(value, d.options)
    if d.type == "multi-choice":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError("must be a list of options")
        chosen = [_as_option(v, d.options) for v in items]
        return list(dict.fromkeys(chosen))
    if d.type == "user":
        from .entities.users import resolve_user

        return (await resolve_user(ctx, value, field))["id"]
    if d.type == "url":
        return _as_url(value)
    raise ValueError(f"unknown field type {d.type}")  # pragma: no cover - defs are validated


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


async def validate_custom(
    ctx: Context,
    entity: str,
    incoming: dict[str, Any] | None,
    existing: dict[str, Any] | None,
) -> dict[str, Any]:
    """Check the custom values a write gives and return the record's new ``custom``.

    ``incoming`` maps keys to new values (``None`` or ``""`` clears one); ``existing`` is the
    record before the write (``None`` on create). Values are normalised per type (choice
    options spelled as defined, money as ``{"amount", "currency"}``, users as ids). A value
    identical to the stored one is kept as it is, even if it is flagged. On create, required
    fields must be given (except by the system itself: mail, forms and imports cannot know
    them). Every problem is reported at once as field errors named ``custom.<key>``.
    """
    defs = await definitions(ctx, entity)
    current: dict[str, Any] = dict((existing or {}).get("custom") or {})
    errors: list[FieldError] = []
    for key, raw in (incoming or {}).items():
        field = f"custom.{key}"
        d = defs.get(key)
        if d is None:
            known = ", ".join(k for k, v in defs.items() if not v.archived) or "none yet"
            errors.append(
                FieldError(
                    field,
                    f"is not a custom field of {entity}s (known: {known}; "
                    "define one with custom_field.define)",
                    "unknown_field",
                )
            )
            continue
        if key in current and raw == current[key]:
            continue
        if _empty(raw):
            if d.required and not d.archived:
                errors.append(FieldError(field, "is required and cannot be emptied", "missing"))
            else:
                current.pop(key, None)
            continue
        if d.archived:
            errors.append(
                FieldError(
                    field, "is archived: it keeps its values but takes no new ones", "archived"
                )
            )
            continue
        try:
            current[key] = await coerce(ctx, d, raw)
        except ValueError as exc:
            errors.append(FieldError(field, str(exc), "invalid"))
        except KithError as err:
            errors.extend(err.fields or [FieldError(field, err.message, err.code)])
    if existing is None and not ctx.actor.is_system:
        for key, d in defs.items():
            if (
                d.required
                and not d.archived
                and _empty(current.get(key))
                and key not in (incoming or {})
            ):
                errors.append(FieldError(f"custom.{key}", "is required", "missing"))
    if errors:
        summary = "; ".join(f"{f.field}: {f.message}" for f in errors[:3])
        raise KithError("invalid_input", f"Invalid custom fields — {summary}", errors)
    return current


def flags(defs: dict[str, Definition], custom: dict[str, Any] | None) -> dict[str, str]:
    """Stored values a person should look at: kept as they were, but no longer valid."""
    out: dict[str, str] = {}
    for key, value in (custom or {}).items():
        d = defs.get(key)
        if d is None:
            out[key] = "is not a defined custom field (kept as it was)"
        elif d.archived:
            out[key] = "belongs to an archived field (kept, read-only)"
        elif d.type == "choice" and value not in d.options:
            out[key] = f"{value!r} is no longer an option"
        elif d.type == "multi-choice" and isinstance(value, list):
            gone = [v for v in value if v not in d.options]
            if gone:
                out[key] = ", ".join(repr(v) for v in gone) + " no longer an option"
    return out


async def annotate(ctx: Context, entity: str, rows: list[dict[str, Any]]) -> None:
    """Add ``custom_flags`` to each output row that has custom values."""
    if not any(r.get("custom") for r in rows):
        return
    defs = await definitions(ctx, entity)
    for r in rows:
        if r.get("custom"):
            found = flags(defs, r["custom"])
            if found:
                r["custom_flags"] = found


# ---- commands ----------------------------------------------------------------------------------


def _options(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = [v.strip() for v in value]
    if any(not v for v in cleaned):
        raise ValueError("options cannot be empty text")
    lowered = [v.lower() for v in cleaned]
    dupes = sorted({v for v in cleaned if lowered.count(v.lower()) > 1})
    if dupes:
        raise ValueError(f"{', '.join(dupes)} appears twice")
    return cleaned


class CustomFieldDefine(Input):
    entity: str = Field(description="e.g. contact, deal, ticket")
    key: str = Field(description="Lower-case letters, digits and _, e.g. 'tier'")
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    options: list[str] = Field(
        default_factory=list, max_length=200, description="For choice and multi-choice"
    )
    required: bool = False
    position: int | None = Field(None, ge=0, le=10_000)

    _options = field_validator("options")(_options)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("use lower-case letters, digits and _ (start with a letter, ≤ 63)")
        return value


class CustomFieldUpdate(Input):
    custom_field: int | str = Field(description="An id, or entity.key such as 'contact.tier'")
    label: str | None = Field(None, min_length=1, max_length=200)
    options: list[str] | None = Field(
        None,
        max_length=200,
        description="The new option list; values of removed or renamed options stay, flagged",
    )
    required: bool | None = None
    position: int | None = Field(None, ge=0, le=10_000)

    _options = field_validator("options")(_options)


class CustomFieldRef(Input):
    custom_field: int | str = Field(description="An id, or entity.key such as 'contact.tier'")


class CustomFieldList(Input):
    entity: str | None = None
    include_archived: bool = False


class CustomFieldOut(Record):
    entity: str
    key: str
    label: str
    type: str
    options: list[str]
    required: bool
    position: int


class CustomFieldListOut(BaseModel):
    items: list[CustomFieldOut]


def _check_entity(entity: str) -> str:
    names = custom_entities()
    if entity not in names:
        raise invalid("entity", f"{entity!r} has no custom fields; choose from {', '.join(names)}")
    return entity


async def _resolve(ctx: Context, ref: int | str, for_update: bool = False) -> dict[str, Any]:
    record_id = as_id(ref)
    if record_id is not None:
        return await ctx.get(CustomFieldDef, record_id, field="custom_field", for_update=for_update)
    entity, _, key = str(ref).strip().partition(".")
    row = await ctx.find_one(CustomFieldDef, entity=entity, key=key)
    if row is None:
        raise not_found("custom field", ref, "custom_field")
    if for_update:
        return await ctx.get(CustomFieldDef, row["id"], field="custom_field", for_update=True)
    return row


def _check_options(kind: str, options: list[str]) -> None:
    if kind in CHOICE_TYPES and not options:
        raise invalid("options", f"a {kind} field needs at least one option")
    if kind not in CHOICE_TYPES and options:
        raise invalid("options", f"only choice and multi-choice fields take options, not {kind}")


@command(
    "custom_field.define",
    input=CustomFieldDefine,
    output=CustomFieldOut,
    permission="custom_fields.manage",
)
async def define(ctx: Context, data: CustomFieldDefine) -> dict[str, Any]:
    """Add a custom field to an entity, e.g. ``{"entity": "contact", "key": "tier",
    "label": "Tier", "type": "choice", "options": ["Bronze", "Silver", "Gold"]}``. Types:
    text, number, money, date, bool, choice, multi-choice, user, url."""
    _check_entity(data.entity)
    _check_options(data.type, data.options)
    other = await ctx.find_one(CustomFieldDef, entity=data.entity, key=data.key)
    if other is not None:
        state = " (archived: restore it with custom_field.restore)" if other["archived_at"] else ""
        raise KithError(
            "conflict",
            f"key: {data.entity}.{data.key} is already defined{state}",
            [FieldError("key", f"is already a {data.entity} field{state}", "duplicate")],
            status=409,
        )
    position = data.position
    if position is None:
        position = len(await definitions(ctx, data.entity))
    row = await ctx.insert(
        CustomFieldDef,
        {
            "entity": data.entity,
            "key": data.key,
            "label": data.label,
            "type": data.type,
            "options": data.options,
            "required": data.required,
            "position": position,
        },
    )
    _cache.invalidate(ctx)
    ctx.emit(
        "custom_field.defined",
        "custom_field",
        row["id"],
        record=CustomFieldOut.model_validate(row).model_dump(mode="json"),
    )
    return row


@command(
    "custom_field.update",
    input=CustomFieldUpdate,
    output=CustomFieldOut,
    permission="custom_fields.manage",
)
async def update(ctx: Context, data: CustomFieldUpdate) -> dict[str, Any]:
    """Change a custom field's label, options, required flag or position. Its entity, key and
    type never change. Stored values are never rewritten: a value whose option was renamed or
    removed stays as it was and is flagged in ``custom_flags``."""
    row = await _resolve(ctx, data.custom_field, for_update=True)
    changes: dict[str, Any] = {}
    for name in ("label", "options", "required", "position"):
        if name in data.model_fields_set:
            value = getattr(data, name)
            if value is None:
                raise invalid(name, "cannot be empty")
            changes[name] = value
    if "options" in changes:
        _check_options(row["type"], changes["options"])
    row, diff = await ctx.update(CustomFieldDef, row, changes)
    if diff:
        _cache.invalidate(ctx)
        ctx.emit("custom_field.updated", "custom_field", row["id"], changes=diff)
    return row


@command(
    "custom_field.archive",
    input=CustomFieldRef,
    output=CustomFieldOut,
    permission="custom_fields.manage",
    destructive=True,
    idempotent=True,
)
async def archive(ctx: Context, data: CustomFieldRef) -> dict[str, Any]:
    """Archive a custom field: existing values stay readable (flagged), new values are
    refused, and it is no longer required. Restore it with ``custom_field.restore``."""
    row = await _resolve(ctx, data.custom_field)
    if row["archived_at"] is None:
        row, _ = await ctx.update(
            CustomFieldDef, row, {"archived_at": ctx.now()}, action="archived"
        )
        _cache.invalidate(ctx)
        ctx.emit("custom_field.archived", "custom_field", row["id"])
    return row


@command(
    "custom_field.restore",
    input=CustomFieldRef,
    output=CustomFieldOut,
    permission="custom_fields.manage",
    idempotent=True,
)
async def restore(ctx: Context, data: CustomFieldRef) -> dict[str, Any]:
    """Restore an archived custom field."""
    row = await _resolve(ctx, data.custom_field)
    if row["archived_at"] is not None:
        row, _ = await ctx.update(CustomFieldDef, row, {"archived_at": None}, action="restored")
        _cache.invalidate(ctx)
        ctx.emit("custom_field.restored", "custom_field", row["id"])
    return row


@command(
    "custom_field.list",
    input=CustomFieldList,
    output=CustomFieldListOut,
    permission="custom_fields.read",
    read_only=True,
)
async def list_fields(ctx: Context, data: CustomFieldList) -> dict[str, Any]:
    """List the custom fields, of one entity or of all, in their display order."""
    if data.entity is not None:
        _check_entity(data.entity)
    codec = ctx.kith.db.statements.codec(CustomFieldDef)
    rows = [
        codec.decode(r)
        for r in await ctx.fetch(
            'SELECT * FROM "custom_field_defs" ORDER BY "entity", "position", "id"', []
        )
    ]
    items = [
        r
        for r in rows
        if (data.entity is None or r["entity"] == data.entity)
        and (data.include_archived or r["archived_at"] is None)
    ]
    return {"items": items}


COMMANDS = [define, update, archive, restore, list_fields]

__all__ = ["COMMANDS", "Definition", "annotate", "definitions", "flags", "validate_custom"]
