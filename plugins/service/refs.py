"""Resolving what people type (a user, team, contact, ticket) through the core's own ``get``
commands, so the plugin resolves names exactly as every other command does."""

from __future__ import annotations

from typing import Any

import kith

OPEN_STATUSES = ("new", "open", "pending")


def _renamed(err: kith.KithError, entity: str, field: str) -> kith.KithError:
    if field == entity:
        return err
    fields = [
        kith.FieldError(field if f.field == entity else f.field, f.message, f.code)
        for f in err.fields
    ]
    message = err.message.replace(f"{entity}: ", f"{field}: ")
    return kith.KithError(err.code, message, fields, err.status, candidates=err.candidates)


async def resolve(ctx: kith.Context, entity: str, ref: Any, field: str) -> dict[str, Any]:
    """The record ``ref`` names (``<entity>.get``); errors name ``field``."""
    try:
        out = await ctx.run(f"{entity}.get", {entity: ref})
    except kith.KithError as err:
        raise _renamed(err, entity, field) from None
    return out.model_dump() if hasattr(out, "model_dump") else dict(out)


def as_ticket_id(ref: Any) -> int | None:
    """``311``, ``"311"`` and ``"#311"`` are ticket numbers."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref
    text = str(ref).strip().removeprefix("#")
    return int(text) if text.isdigit() else None


async def ticket_id(ctx: kith.Context, ref: Any, field: str = "ticket") -> int:
    number = as_ticket_id(ref)
    if number is not None:
        return number
    return int((await resolve(ctx, "ticket", ref, field))["id"])


def mark(ctx: kith.Context, n: int = 1, start: int = 1) -> list[str]:
    """Bound-parameter placeholders of this database (``?`` or ``$1``…)."""
    return ctx.kith.db.statements.placeholders(n, start)


async def lock_row(
    ctx: kith.Context, table: type[Any], record_id: int, field: str
) -> dict[str, Any]:
    """Read a row, locking it until the command commits (PostgreSQL; SQLite serialises every
    write transaction already). Concurrent commands on the same record queue here."""
    codec = ctx.kith.db.statements.codec(table)
    lock = " FOR UPDATE" if ctx.kith.db.dialect == "postgres" and not ctx.read_only else ""
    sql = f'SELECT * FROM "{codec.tablename}" WHERE "id" = {mark(ctx)[0]}{lock}'  # noqa: S608
    rows = await ctx.fetch(sql, [record_id])
    if not rows:
        entity = "ticket" if codec.tablename == "tickets" else codec.tablename.removesuffix("s")
        raise kith.not_found(entity, record_id, field)
    return codec.decode(rows[0])
