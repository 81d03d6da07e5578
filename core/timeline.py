"""``<entity>.timeline``: a record's whole story, newest first, a page at a time.

Items come from the record's history (every command that changed it, field by field), the
activities linked to it (calls, emails, meetings, notes), the tasks attached to it, and
whatever plugins add through ``kith_timeline_items`` (e-mails, SLA events...). Each source
returns its items after the cursor position, newest first; the pages are merged here. The
order is ``(at, kind, id)`` descending, so pages never repeat or skip an item.

Visibility: the record itself must be visible to the actor (else: not found), and
activities and tasks on it follow their own visibility setting.
"""

# SQL here is assembled from quoted identifiers of table metadata and Params placeholders;
# every value is a bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model, field_validator

from .commands import CommandSpec, command
from .db.params import Params
from .entities._common import Entity, Input, Ref
from .history import jsonable
from .queries import DEFAULT_LIMIT, check_limit, decode_cursor, encode_cursor, fingerprint
from .tables import Activity, History, Task
from .visibility import sql_condition

if TYPE_CHECKING:
    from .context import Context

log = logging.getLogger("kith.timeline")

# Entities activities link to, with the activity column that points at them.
ACTIVITY_LINKS = {
    "contact": "contact_id",
    "organization": "organization_id",
    "deal": "deal_id",
    "lead": "lead_id",
    "ticket": "ticket_id",
}


@dataclass(frozen=True)
class TimelinePosition:
    """Where the previous page ended: items strictly older than ``(at, kind, id)`` follow."""

    at: datetime
    kind: str
    id: int | str


class TimelineItem(BaseModel):
    """One entry of a timeline."""

    at: datetime
    kind: str = Field(description="history, activity, task, or a plugin's kind (email...)")
    id: int | str = Field(description="The item's id within its kind")
    source: str = Field("core", description="core, or the plugin that added it")
    actor: str | None = None
    user_id: int | None = None
    summary: str
    data: dict[str, Any] = {}


def _after(kind: str, before: TimelinePosition | None, p: Params, at_sql: str, encode: Any) -> str:
    """Rows of ``kind`` strictly after ``before`` in (at, kind, id) descending order."""
    if before is None:
        return ""
    at = p(encode(before.at))
    if kind < before.kind:
        return f" AND {at_sql} <= {at}"
    if kind > before.kind:
        return f" AND {at_sql} < {at}"
    return f' AND ({at_sql} < {at} OR ({at_sql} = {at} AND "id" < {p(before.id)}))'


def _describe(action: str, changes: dict[str, Any]) -> str:
    """``updated: name, phone`` — what a history row changed, in a few words."""
    if action == "created" or not changes:
        return action
    return f"{action}: {', '.join(changes)}"


async def _history(
    ctx: Context, entity: str, record_id: int, before: TimelinePosition | None, limit: int
) -> list[dict[str, Any]]:
    p = Params(ctx.kith.db.dialect)
    codec = ctx.kith.db.statements.codec(History)
    sql = (
        f'SELECT * FROM "history" WHERE "entity" = {p(entity)} AND "entity_id" = {p(record_id)}'
        + _after("history", before, p, '"at"', lambda v: codec.encode("at", v))
        + f' ORDER BY "at" DESC, "id" DESC LIMIT {p(limit)}'
    )
    out = []
    for r in map(codec.decode, await ctx.fetch(sql, p.values)):
        changes = r["changes"] or {}
        out.append(
            {
                "at": r["at"],
                "kind": "history",
                "id": r["id"],
                "actor": r["actor"],
                "user_id": r["actor_user_id"],
                "summary": _describe(r["action"], changes),
                "data": {"action": r["action"], "command": r["command"], "changes": changes},
            }
        )
    return out


async def _activities(
    ctx: Context, entity: str, record_id: int, before: TimelinePosition | None, limit: int
) -> list[dict[str, Any]]:
    column = ACTIVITY_LINKS.get(entity)
    if column is None:
        return []
    p = Params(ctx.kith.db.dialect)
    codec = ctx.kith.db.statements.codec(Activity)
    visible = await sql_condition(ctx, "activity", p)
    sql = (
        f'SELECT * FROM "activities" WHERE "{column}" = {p(record_id)} '
        'AND "archived_at" IS NULL'
        + (f" AND {visible}" if visible else "")
        + _after("activity", before, p, '"occurred_at"', lambda v: codec.encode("occurred_at", v))
        + f' ORDER BY "occurred_at" DESC, "id" DESC LIMIT {p(limit)}'
    )
    out = []
    for r in map(codec.decode, await ctx.fetch(sql, p.values)):
        text = r["subject"] or (r["body"] or "")[:120]
        out.append(
            {
                "at": r["occurred_at"],
                "kind": "activity",
                "id": r["id"],
                "actor": None,
                "user_id": r["user_id"],
                "summary": f"{r['kind']}: {text}" if text else r["kind"],
                "data": {
                    k: jsonable(r[k])
                    for k in ("kind", "subject", "body", "direction", "duration_seconds", "outcome")
                },
            }
        )
    return out


async def _tasks(
    ctx: Context, entity: str, record_id: int, before: TimelinePosition | None, limit: int
) -> list[dict[str, Any]]:
    p = Params(ctx.kith.db.dialect)
    codec = ctx.kith.db.statements.codec(Task)
    visible = await sql_condition(ctx, "task", p)
    sql = (
        f'SELECT * FROM "tasks" WHERE "record_type" = {p(entity)} '
        f'AND "record_id" = {p(record_id)} AND "archived_at" IS NULL'
        + (f" AND {visible}" if visible else "")
        + _after("task", before, p, '"created_at"', lambda v: codec.encode("created_at", v))
        + f' ORDER BY "created_at" DESC, "id" DESC LIMIT {p(limit)}'
    )
    out = []
    for r in map(codec.decode, await ctx.fetch(sql, p.values)):
        out.append(
            {
                "at": r["created_at"],
                "kind": "task",
                "id": r["id"],
                "actor": None,
                "user_id": r["assignee_id"],
                "summary": f"task: {r['title']} ({r['status']})",
                "data": {k: jsonable(r[k]) for k in ("title", "status", "due_at", "assignee_id")},
            }
        )
    return out


CORE_SOURCES = (_history, _activities, _tasks)


def _sort_key(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["at"], item["kind"], item["id"])


async def timeline_page(
    ctx: Context, entity: Entity, record: dict[str, Any], cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page of ``record``'s timeline (the body of ``<entity>.timeline``)."""
    query_id = fingerprint("timeline", entity.name, record["id"])
    before = None
    if cursor:
        at, kind, item_id = decode_cursor(ctx, cursor, query_id)
        try:
            before = TimelinePosition(datetime.fromisoformat(at), str(kind), item_id)
        except (TypeError, ValueError):
            from .errors import invalid

            raise invalid("cursor", "is malformed") from None
    items: list[dict[str, Any]] = []
    for source in CORE_SOURCES:
        for item in await source(ctx, entity.name, record["id"], before, limit + 1):
            items.append({**item, "source": "core"})
    for plugin, item in await ctx.kith.hooks.timeline_items(
        ctx, entity.name, record["id"], before, limit + 1
    ):
        if before is not None:
            key = _sort_key(item)
            edge = (before.at, before.kind, before.id)
            try:
                if key >= edge:
                    continue
            except TypeError:
                continue
        items.append({**item, "source": plugin})
    try:
        items.sort(key=_sort_key, reverse=True)
    except TypeError:  # a plugin mixing id types within one kind
        items.sort(key=lambda i: (i["at"], i["kind"], str(i["id"])), reverse=True)
    page, rest = items[:limit], items[limit:]
    next_cursor = None
    if rest:
        last = page[-1]
        next_cursor = encode_cursor(
            ctx, [last["at"].isoformat(), last["kind"], last["id"]], query_id
        )
    return {"items": page, "next_cursor": next_cursor}


def timeline_command(entity: Entity) -> CommandSpec:
    """``<entity>.timeline`` for ``entity``."""
    model = create_model(
        f"{entity.name.title().replace('_', '')}Timeline",
        __base__=Input,
        __validators__={"_limit": field_validator("limit")(check_limit)},
        cursor=(str | None, Field(None, max_length=2000)),
        limit=(int, Field(DEFAULT_LIMIT, ge=1, description="Items per page (≤ 200)")),
        **{entity.name: (Ref, Field(description=f"The {entity.title}: id or name"))},
    )
    out = create_model(
        f"{entity.name.title().replace('_', '')}TimelinePage",
        items=(list[TimelineItem], ...),
        next_cursor=(str | None, None),
    )

    async def timeline(ctx: Context, data: Any) -> dict[str, Any]:
        record = await entity.resolve(ctx, getattr(data, entity.name))
        return await timeline_page(ctx, entity, record, data.cursor, data.limit)

    timeline.__doc__ = (
        f"The story of a {entity.title}, newest first: its history (who changed what), "
        "activities, tasks and what plugins add; a page at a time (next_cursor)."
    )
    return command(
        f"{entity.name}.timeline",
        input=model,
        output=out,
        permission=f"{entity.area}.read",
        read_only=True,
    )(timeline)
