"""Resolving what people type into records: ids, emails, Slack ids, names.

A reference that matches nothing is ``not_found``; one that matches several is ``ambiguous``
and lists the candidates so a channel can offer a choice.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from piccolo.table import Table

from .db.statements import quote
from .errors import FieldError, KithError, not_found

if TYPE_CHECKING:
    from .context import Context

SLACK_ID = re.compile(r"^<?@?([UW][A-Z0-9]{6,})(\|[^>]*)?>?$")
MAX_CANDIDATES = 5


def as_id(ref: Any) -> int | None:
    """``42``, ``"42"`` and ``"#42"`` are ids."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref
    if isinstance(ref, str):
        s = ref.strip().removeprefix("#")
        if s.isascii() and s.isdigit():
            return int(s)
    return None


def ambiguous(
    entity: str, ref: Any, field: str, rows: list[dict[str, Any]], label: str
) -> KithError:
    shown = rows[:MAX_CANDIDATES]
    names = ", ".join(f"{r[label]} (#{r['id']})" for r in shown)
    more = "…" if len(rows) > MAX_CANDIDATES else ""
    message = f"{ref!r} matches several {entity}s: {names}{more}. Say which by id."
    return KithError(
        "ambiguous",
        message,
        [FieldError(field, message, "ambiguous")],
        candidates=[{"id": r["id"], "label": r[label]} for r in shown],
    )


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def by_text(
    ctx: Context,
    table: type[Table],
    column: str,
    text: str,
    *,
    exact_first: bool = True,
) -> list[dict[str, Any]]:
    """Active rows whose ``column`` contains ``text`` (case-insensitive); an exact match, if
    there is exactly one, wins over partial ones."""
    codec = ctx.kith.db.statements.codec(table)
    if column not in codec.column_set:
        raise ValueError(f"{codec.tablename} has no column {column}")
    from .context import entity_name
    from .db.params import Params
    from .visibility import sql_condition

    p = Params(ctx.kith.db.dialect)
    mark = p(_like_pattern(text))
    # Only records the actor may see are candidates (core/visibility.py).
    visible = await sql_condition(ctx, entity_name(table), p)
    sql = (
        f"SELECT * FROM {quote(codec.tablename)} WHERE lower({quote(column)}) LIKE {mark} "  # noqa: S608
        f"ESCAPE '\\' AND \"archived_at\" IS NULL {'AND ' + visible if visible else ''} "
        f'ORDER BY "id" LIMIT {MAX_CANDIDATES * 4}'
    )
    rows = [codec.decode(r) for r in await ctx.fetch(sql, p.values)]
    if exact_first and len(rows) > 1:
        exact = [r for r in rows if str(r[column]).lower() == text.strip().lower()]
        if len(exact) == 1:
            return exact
    return rows


async def resolve(
    ctx: Context,
    table: type[Table],
    ref: Any,
    *,
    field: str,
    entity: str,
    text_columns: tuple[str, ...] = ("name",),
    label: str = "name",
    for_update: bool = False,
) -> dict[str, Any]:
    """Resolve ``ref`` (an id, or text matched against ``text_columns`` in order)."""
    record_id = as_id(ref)
    if record_id is not None:
        return await ctx.get(table, record_id, field=field, for_update=for_update)
    if not isinstance(ref, str) or not ref.strip():
        raise KithError(
            "invalid_input",
            f"{field}: give an id or a name",
            [FieldError(field, "give an id or a name")],
        )
    text = ref.strip()
    for column in text_columns:
        rows = await by_text(ctx, table, column, text)
        if len(rows) == 1:
            return await ctx.get(table, rows[0]["id"], field=field, for_update=for_update)
        if len(rows) > 1:
            raise ambiguous(entity, text, field, rows, label)
    raise not_found(entity, text, field)
