"""Reading the core's records from a command: references, stages, raw SQL placeholders.

Everything here goes through ``ctx`` (so reads inside a write command see its own writes) and
through public commands (``deal.get``, ``user.get``...) where the core already knows how to
resolve what people type.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

import kith

OPEN_LEAD_STATUSES = ("new", "mql", "qualified")


def marks(ctx: Any, count: int, start: int = 1) -> list[str]:
    """Bound-parameter placeholders of the database ``ctx`` runs on (``?`` or ``$n``)."""
    return ctx.kith.db.statements.placeholders(count, start)


def dialect(ctx: Any) -> str:
    return ctx.kith.db.dialect


def encode(ctx: Any, table: Any, column: str, value: Any) -> Any:
    """A value as ``table.column`` stores it (ISO text for times on SQLite)."""
    return ctx.kith.db.statements.codec(table).encode(column, value)


def decode(ctx: Any, table: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A raw row of ``table`` (from ``ctx.fetch``) with Python values (times, JSON, bools)."""
    return ctx.kith.db.statements.codec(table).decode(row)


def as_id(ref: Any) -> int | None:
    """``42``, ``"42"`` and ``"#42"`` are ids; anything else is text to resolve."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str) and ref.strip().removeprefix("#").isdigit():
        return int(ref.strip().removeprefix("#"))
    return None


def renamed(err: kith.KithError, field: str) -> kith.KithError:
    """The same error, naming ``field`` (a nested ``x.get`` names its own input field)."""
    err.fields = [kith.FieldError(field, f.message, f.code) for f in err.fields]
    return err


async def resolve(
    ctx: kith.Context,
    entity: str,
    table: Any,
    ref: Any,
    *,
    field: str | None = None,
    for_update: bool = False,
) -> dict[str, Any]:
    """The row ``ref`` names, resolved the way ``<entity>.get`` does (id, name, email...)."""
    field = field or entity
    record_id = as_id(ref)
    if record_id is None:
        try:
            model = await ctx.run(f"{entity}.get", {entity: ref})
        except kith.KithError as err:
            raise renamed(err, field) from None
        record_id = model.id
    return await ctx.get(table, record_id, field=field, for_update=for_update)


async def stages_of(ctx: kith.Context, pipeline_id: int) -> list[dict[str, Any]]:
    """The active stages of a pipeline, in board order."""
    rows = await ctx.select(kith.Stage, pipeline_id=pipeline_id, order_by="position")
    return [r for r in rows if r["archived_at"] is None]


async def find_stage(
    ctx: kith.Context, pipeline: dict[str, Any], ref: Any, field: str = "stage"
) -> dict[str, Any]:
    """A stage of ``pipeline`` by id, by name (case-insensitive) or by a unique name prefix.

    A name that only another pipeline has is refused with that pipeline named."""
    stages = await stages_of(ctx, pipeline["id"])
    names = ", ".join(s["name"] for s in stages)
    record_id = as_id(ref)
    if record_id is not None:
        for stage in stages:
            if stage["id"] == record_id:
                return stage
        other = await ctx.find_one(kith.Stage, id=record_id)
        if other is not None and other["pipeline_id"] != pipeline["id"]:
            raise await _other_pipeline(ctx, other, pipeline, field)
        raise kith.KithError(
            "not_found",
            f"{field}: there is no stage {record_id} in pipeline {pipeline['name']} "
            f"(stages: {names})",
            [kith.FieldError(field, f"is not a stage of pipeline {pipeline['name']}", "not_found")],
            status=404,
        )
    text = str(ref).strip().lower()
    if not text:
        raise kith.invalid(field, f"give a stage name ({names})")
    exact = [s for s in stages if s["name"].lower() == text]
    if exact:
        return exact[0]
    prefix = [s for s in stages if s["name"].lower().startswith(text)]
    if len(prefix) == 1:
        return prefix[0]
    if len(prefix) > 1:
        listed = ", ".join(s["name"] for s in prefix)
        raise kith.KithError(
            "ambiguous",
            f"{field}: {ref!r} matches several stages: {listed}. Type more of the name.",
            [kith.FieldError(field, f"matches {listed}", "ambiguous")],
            candidates=[{"id": s["id"], "label": s["name"]} for s in prefix],
        )
    elsewhere = await _stage_named_elsewhere(ctx, text, pipeline["id"])
    if elsewhere is not None:
        raise await _other_pipeline(ctx, elsewhere, pipeline, field)
    close = difflib.get_close_matches(text, [s["name"].lower() for s in stages], n=1)
    hint = next((f" Did you mean {s['name']}?" for s in stages if [s["name"].lower()] == close), "")
    raise kith.KithError(
        "not_found",
        f"{field}: no stage {ref!r} in pipeline {pipeline['name']}.{hint} Stages: {names}.",
        [kith.FieldError(field, f"no such stage in pipeline {pipeline['name']}", "not_found")],
        status=404,
    )


async def _stage_named_elsewhere(
    ctx: kith.Context, lowered: str, pipeline_id: int
) -> dict[str, Any] | None:
    m = marks(ctx, 2)
    rows = await ctx.fetch(
        f'SELECT "id", "pipeline_id", "name" FROM "stages" WHERE lower("name") = {m[0]} '  # noqa: S608
        f'AND "pipeline_id" <> {m[1]} AND "archived_at" IS NULL ORDER BY "id" LIMIT 1',
        [lowered, pipeline_id],
    )
    return rows[0] if rows else None


async def _other_pipeline(
    ctx: kith.Context, stage: dict[str, Any], pipeline: dict[str, Any], field: str
) -> kith.KithError:
    other = await ctx.get(kith.Pipeline, stage["pipeline_id"])
    message = (
        f"{stage['name']} is a stage of pipeline {other['name']}, not of {pipeline['name']}; "
        "a deal moves only between the stages of its own pipeline"
    )
    return kith.KithError(
        "invalid_input",
        f"{field}: {message}",
        [kith.FieldError(field, message, "other_pipeline")],
    )


async def user_time_zone(ctx: kith.Context, user_id: int | None) -> str:
    if user_id is None:
        return "UTC"
    user = await ctx.find_one(kith.User, id=user_id)
    return (user or {}).get("time_zone") or "UTC"


def local_time(when: datetime, time_zone: str) -> str:
    """``when`` as a person in ``time_zone`` reads it: ``2026-01-05 13:12 (Europe/Paris)``."""
    from zoneinfo import ZoneInfo

    return f"{when.astimezone(ZoneInfo(time_zone)):%Y-%m-%d %H:%M} ({time_zone})"
