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

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from .commands import CommandSpec, command
from .db.params import Params
from .entities._common import Entity, Input, Ref
from .history import jsonable
from .queries import DEFAULT_LIMIT, check_limit, decode_cursor, encode_cursor, fingerprint
from .refs import as_id
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


# Every branch of the core's timeline query returns these columns (typed NULL where a kind
# has none), so one UNION ALL statement brings history, activities and tasks at once.
COLUMNS = {
    "kind": "text",
    "id": "integer",
    "at": "timestamptz",
    "actor": "text",
    "user_id": "integer",
    "action": "text",
    "command": "text",
    "changes": "json",
    "subject": "text",
    "body": "text",
    "direction": "text",
    "duration_seconds": "integer",
    "outcome": "text",
    "title": "text",
    "status": "text",
    "due_at": "timestamptz",
}


def _select(dialect: str, values: dict[str, str]) -> str:
    def null(kind: str) -> str:
        return f"NULL::{kind}" if dialect == "postgres" else "NULL"

    return ", ".join(f'{values.get(c, null(t))} AS "{c}"' for c, t in COLUMNS.items())


async def _core_items(
    ctx: Context, entity: str, record_id: int, before: TimelinePosition | None, limit: int
) -> list[dict[str, Any]]:
    """History, activities and tasks of the record after ``before``, newest first."""
    dialect = ctx.kith.db.dialect
    p = Params(dialect)
    record, top = p(record_id), p(limit)
    hist, acts, tasks = (ctx.kith.db.statements.codec(t) for t in (History, Activity, Task))
    branches: list[str] = []
    history_cols = {
        "kind": "'history'",
        "id": '"id"',
        "at": '"at"',
        "actor": '"actor"',
        "user_id": '"actor_user_id"',
        "action": '"action"',
        "command": '"command"',
        "changes": '"changes"',
    }
    branches.append(
        f'SELECT {_select(dialect, history_cols)} FROM "history" '
        f'WHERE "entity" = {p(entity)} AND "entity_id" = {record}'
        + _after("history", before, p, '"at"', lambda v: hist.encode("at", v))
        + f' ORDER BY "at" DESC, "id" DESC LIMIT {top}'
    )
    column = ACTIVITY_LINKS.get(entity)
    if column is not None:
        visible = await sql_condition(ctx, "activity", p)
        activity_cols = {
            "kind": "'activity'",
            "id": '"id"',
            "at": '"occurred_at"',
            "user_id": '"user_id"',
            **{c: f'"{c}"' for c in ("subject", "body", "direction", "duration_seconds")},
            "outcome": '"outcome"',
            "action": '"kind"',
        }
        branches.append(
            f'SELECT {_select(dialect, activity_cols)} FROM "activities" '
            f'WHERE "{column}" = {record} AND "archived_at" IS NULL'
            + (f" AND {visible}" if visible else "")
            + _after(
                "activity", before, p, '"occurred_at"', lambda v: acts.encode("occurred_at", v)
            )
            + f' ORDER BY "occurred_at" DESC, "id" DESC LIMIT {top}'
        )
    visible = await sql_condition(ctx, "task", p)
    task_cols = {
        "kind": "'task'",
        "id": '"id"',
        "at": '"created_at"',
        "user_id": '"assignee_id"',
        "title": '"title"',
        "status": '"status"',
        "due_at": '"due_at"',
    }
    branches.append(
        f'SELECT {_select(dialect, task_cols)} FROM "tasks" '
        f'WHERE "record_type" = {p(entity)} AND "record_id" = {record} AND "archived_at" IS NULL'
        + (f" AND {visible}" if visible else "")
        + _after("task", before, p, '"created_at"', lambda v: tasks.encode("created_at", v))
        + f' ORDER BY "created_at" DESC, "id" DESC LIMIT {top}'
    )
    sql = (
        " UNION ALL ".join(f"SELECT * FROM ({b}) AS s{i}" for i, b in enumerate(branches))
        + f' ORDER BY "at" DESC, "kind" DESC, "id" DESC LIMIT {top}'
    )
    return [_item(r, hist, tasks) for r in await ctx.fetch(sql, p.values)]


def _item(r: dict[str, Any], hist: Any, tasks: Any) -> dict[str, Any]:
    decoded = hist.decode({"at": r["at"], "changes": r["changes"]})
    at = decoded["at"]
    if r["kind"] == "history":
        changes = decoded["changes"] or {}
        return {
            "at": at,
            "kind": "history",
            "id": r["id"],
            "actor": r["actor"],
            "user_id": r["user_id"],
            "summary": _describe(r["action"], changes),
            "data": {"action": r["action"], "command": r["command"], "changes": changes},
        }
    if r["kind"] == "activity":
        text = r["subject"] or (r["body"] or "")[:120]
        return {
            "at": at,
            "kind": "activity",
            "id": r["id"],
            "actor": None,
            "user_id": r["user_id"],
            "summary": f"{r['action']}: {text}" if text else r["action"],
            "data": {
                "kind": r["action"],
                "subject": r["subject"],
                "body": r["body"],
                "direction": r["direction"],
                "duration_seconds": r["duration_seconds"],
                "outcome": r["outcome"],
            },
        }
    due = tasks.decode({"due_at": r["due_at"]})["due_at"]
    return {
        "at": at,
        "kind": "task",
        "id": r["id"],
        "actor": None,
        "user_id": r["user_id"],
        "summary": f"task: {r['title']} ({r['status']})",
        "data": {
            "title": r["title"],
            "status": r["status"],
            "due_at": jsonable(due),
            "assignee_id": r["user_id"],
        },
    }


def _sort_key(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["at"], item["kind"], item["id"])


async def timeline_page(
    ctx: Context,
    entity: Entity,
    record_id: int,
    cursor: str | None,
    limit: int,
    found: Callable[[], Awaitable[Any]] | None = None,
) -> dict[str, Any]:
    """One page of a record's timeline (the body of ``<entity>.timeline``). ``found``, when
    given, proves the record exists and is visible; it runs alongside the core's query, whose
    rows are used only if it succeeds (and plugins are asked only then)."""
    query_id = fingerprint("timeline", entity.name, record_id)
    before = None
    if cursor:
        at, kind, item_id = decode_cursor(ctx, cursor, query_id)
        try:
            before = TimelinePosition(datetime.fromisoformat(at), str(kind), item_id)
        except (TypeError, ValueError):
            from .errors import invalid

            raise invalid("cursor", "is malformed") from None

    def core() -> Awaitable[list[dict[str, Any]]]:
        return _core_items(ctx, entity.name, record_id, before, limit + 1)

    if found is None:
        rows: Any = await core()
    elif ctx.tx is not None:  # nested in a write command: one connection, one query at a time
        await found()
        rows = await core()
    else:
        rows, check = await asyncio.gather(core(), found(), return_exceptions=True)
        for outcome in (check, rows):
            if isinstance(outcome, BaseException):
                raise outcome
    items: list[dict[str, Any]] = [{**item, "source": "core"} for item in rows]
    for plugin, item in await ctx.kith.hooks.timeline_items(
        ctx, entity.name, record_id, before, limit + 1
    ):
        if before is not None:
            key = _sort_key(item)
            edge = (before.at, before.kind, before.id)
            try:
                if key >= edge:
                    continue
            except TypeError:
                continue
        try:  # plugins' items are checked here; the core's are built right
            checked = TimelineItem.model_validate({**item, "source": plugin})
        except ValidationError:
            log.warning("plugin %s returned a bad timeline item: %r", plugin, item)
            continue
        items.append(checked.__dict__)
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
    return {
        "items": [TimelineItem.model_construct(**i) for i in page],
        "next_cursor": next_cursor,
    }


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

    async def timeline(ctx: Context, data: Any) -> BaseModel:
        ref = getattr(data, entity.name)
        record_id = as_id(ref)
        if record_id is None:  # a name: find the record first
            record = await entity.resolve(ctx, ref)
            page = await timeline_page(ctx, entity, record["id"], data.cursor, data.limit)
            return out.model_construct(**page)
        # An id: check the record (exists, visible) while its items are read.
        page = await timeline_page(
            ctx, entity, record_id, data.cursor, data.limit, lambda: entity.resolve(ctx, record_id)
        )
        return out.model_construct(**page)

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
