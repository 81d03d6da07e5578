"""Shared field types and the generic create/update/archive/restore/get commands.

Each entity module declares its models and how input becomes column values; :func:`crud`
turns that into commands with history and events, written once for every entity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from piccolo.table import Table
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..commands import CommandSpec, command
from ..context import Context, register_entity
from ..errors import invalid
from ..refs import resolve


@lru_cache(maxsize=4096)
def _normalized_email(value: str) -> tuple[bool, str]:
    """``(True, normalized)`` or ``(False, reason)``: the same address is often checked twice
    in one command (a capture and its nested create), and email-validator is not cheap."""
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return False, str(exc)
    return True, info.normalized.lower()


def _email(value: str) -> str:
    ok, result = _normalized_email(value)
    if not ok:
        raise ValueError(f"{value!r} is not a valid email address: {result}")
    return result


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name (e.g. Europe/Paris, UTC)") from None
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Ref = Annotated[int | str, Field(description="An id (42 or '#42') or a name, email or handle")]
Name = Annotated[str, Field(min_length=1, max_length=300)]
Custom = Annotated[dict[str, Any], Field(description="Custom field values by key")]


class Input(BaseModel):
    """Base of every command input: unknown fields are errors, text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Record(BaseModel):
    """Base of every record a command returns."""

    id: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None
    tags: list[str] = Field(default_factory=list, description="Tags on the record")
    custom_flags: dict[str, str] = Field(
        default_factory=dict,
        description="Custom values kept as they were but no longer valid (option removed, "
        "field archived), with the reason",
    )


Prepare = Callable[[Context, Any, dict[str, Any] | None], Awaitable[dict[str, Any]]]
AfterWrite = Callable[
    [Context, dict[str, Any], Any, dict[str, Any] | None], Awaitable[dict[str, Any]]
]
Present = Callable[[Context, dict[str, Any]], Awaitable[dict[str, Any]]]
PresentMany = Callable[[Context, list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


async def _plain(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    return row


@dataclass
class Entity:
    """How one entity's generic commands work."""

    name: str
    table: type[Table]
    area: str
    create_input: type[BaseModel] | None
    update_input: type[BaseModel] | None
    output: type[BaseModel]
    prepare: Prepare
    after_write: AfterWrite | None = None
    present: Present = _plain
    text_columns: tuple[str, ...] = ("name",)
    label: str = "name"
    write_level: str = "write"
    title: str = ""
    resolver: Callable[[Context, Any, str], Awaitable[dict[str, Any]]] | None = None
    # Present a page of rows at once (lists): one query for all their extras, not one each.
    present_many: PresentMany | None = None

    def __post_init__(self) -> None:
        register_entity(self.table, self.name)
        self.title = self.title or self.name
        _ENTITIES[self.name] = self

    async def present_rows(
        self, ctx: Context, rows: list[dict[str, Any]], *, tags: bool = True
    ) -> list[dict[str, Any]]:
        """The output of ``rows``: the entity's own presentation, plus their tags and the
        flags of custom values that are no longer valid."""
        from ..custom_fields import annotate
        from ..tags import attach_tags

        if self.present_many is not None:
            out = await self.present_many(ctx, rows)
        else:
            out = [await self.present(ctx, r) for r in rows]
        out = [dict(r) for r in out]
        if tags:  # lists fetch tags with the page (see kith.queries)
            await attach_tags(ctx, self.name, out)
        await annotate(ctx, self.name, out)
        return out

    async def present_one(
        self, ctx: Context, row: dict[str, Any], *, tags: bool = True
    ) -> dict[str, Any]:
        return (await self.present_rows(ctx, [row], tags=tags))[0]

    async def resolve(
        self, ctx: Context, ref: Any, field: str | None = None, for_update: bool = False
    ) -> dict[str, Any]:
        """The record ``ref`` names; with ``for_update`` an archived one is refused."""
        if self.resolver is not None:
            row = await self.resolver(ctx, ref, field or self.name)
            if for_update:
                row = await ctx.get(
                    self.table, row["id"], field=field or self.name, for_update=True
                )
            return row
        return await resolve(
            ctx,
            self.table,
            ref,
            field=field or self.name,
            entity=self.name,
            text_columns=self.text_columns,
            label=self.label,
            for_update=for_update,
        )


_ENTITIES: dict[str, Entity] = {}


def entities() -> dict[str, Entity]:
    """Every core entity by name (``contact`` → its :class:`Entity`)."""
    return _ENTITIES


async def checked_custom(
    ctx: Context, e: Entity, data: Any, values: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    """Validate the custom values of a write (see :func:`kith.custom_fields.validate_custom`)."""
    if "custom" not in values:
        return
    from ..custom_fields import validate_custom

    values["custom"] = await validate_custom(ctx, e.name, getattr(data, "custom", None), existing)


class RecordRef(Input):
    """Input of get/archive/restore: the record, by id or name."""


def _ref_model(entity: Entity) -> type[BaseModel]:
    from pydantic import create_model

    return create_model(
        f"{entity.name.title().replace('_', '')}Ref",
        __base__=Input,
        **{entity.name: (Ref, Field(description=f"The {entity.title}: id or name"))},
    )


def crud(entity: Entity, *, create: bool = True) -> list[CommandSpec]:
    """``<entity>.create|update|archive|restore|get`` for ``entity``."""
    e = entity
    write = f"{e.area}.{e.write_level}"
    read = f"{e.area}.read"
    ref_model = _ref_model(e)
    specs: list[CommandSpec] = []

    if create and e.create_input is not None:

        async def create_record(ctx: Context, data: Any) -> Any:
            values = await e.prepare(ctx, data, None)
            await checked_custom(ctx, e, data, values, None)
            row = await ctx.insert(e.table, values)
            if e.after_write:
                await e.after_write(ctx, row, data, None)
            out = await e.present_one(ctx, row, tags=False)
            ctx.emit(
                f"{e.name}.created",
                e.name,
                row["id"],
                record=e.output.model_validate(out).model_dump(mode="json"),
            )
            return out

        create_record.__doc__ = f"Create a {e.title}."
        specs.append(
            command(f"{e.name}.create", input=e.create_input, output=e.output, permission=write)(
                create_record
            )
        )

    if e.update_input is not None:

        async def update_record(ctx: Context, data: Any) -> Any:
            row = await e.resolve(ctx, getattr(data, e.name), for_update=True)
            values = await e.prepare(ctx, data, row)
            await checked_custom(ctx, e, data, values, row)
            row, changes = await ctx.update(e.table, row, values, record_history=False)
            if e.after_write:
                changes = {**changes, **(await e.after_write(ctx, row, data, row) or {})}
            if changes:
                ctx.record_history(e.name, row["id"], "updated", changes)
                ctx.emit(f"{e.name}.updated", e.name, row["id"], changes=changes)
            return await e.present_one(ctx, row)

        update_record.__doc__ = (
            f"Change fields of a {e.title}; fields left out keep their value. "
            f"The {e.name}.updated event carries each change as [before, after]."
        )
        specs.append(
            command(f"{e.name}.update", input=e.update_input, output=e.output, permission=write)(
                update_record
            )
        )

    async def archive_record(ctx: Context, data: Any) -> Any:
        row = await e.resolve(ctx, getattr(data, e.name))
        if row.get("archived_at") is None:
            row, _ = await ctx.update(e.table, row, {"archived_at": ctx.now()}, action="archived")
            ctx.emit(f"{e.name}.archived", e.name, row["id"])
        return await e.present_one(ctx, row)

    archive_record.__doc__ = f"Archive a {e.title} (soft delete: it can be restored)."
    specs.append(
        command(
            f"{e.name}.archive",
            input=ref_model,
            output=e.output,
            permission=write,
            destructive=True,
            idempotent=True,
        )(archive_record)
    )

    async def restore_record(ctx: Context, data: Any) -> Any:
        row = await e.resolve(ctx, getattr(data, e.name))
        if row.get("archived_at") is not None:
            row, _ = await ctx.update(e.table, row, {"archived_at": None}, action="restored")
            ctx.emit(f"{e.name}.restored", e.name, row["id"])
        return await e.present_one(ctx, row)

    restore_record.__doc__ = f"Restore an archived {e.title}."
    specs.append(
        command(
            f"{e.name}.restore", input=ref_model, output=e.output, permission=write, idempotent=True
        )(restore_record)
    )

    async def get_record(ctx: Context, data: Any) -> Any:
        row = await e.resolve(ctx, getattr(data, e.name))
        return await e.present_one(ctx, row)

    get_record.__doc__ = f"Show one {e.title}."
    specs.append(
        command(f"{e.name}.get", input=ref_model, output=e.output, permission=read, read_only=True)(
            get_record
        )
    )
    return specs


def merge_custom(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """On update, custom values given are merged into the record's (``None`` = unchanged)."""
    if "custom" not in values:
        return
    if values["custom"] is None:
        del values["custom"]
    elif existing is not None:
        values["custom"] = {**(existing.get("custom") or {}), **values["custom"]}


def require_values(values: dict[str, Any], *names: str) -> None:
    """Refuse ``None`` for fields that cannot be emptied."""
    for name in names:
        if name in values and values[name] is None:
            raise invalid(name, "cannot be empty")


def set_fields(data: BaseModel, *names: str) -> dict[str, Any]:
    """The given ``names`` that the caller actually set (``None`` included)."""
    given = data.model_fields_set
    return {n: getattr(data, n) for n in names if n in given}
