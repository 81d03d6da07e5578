"""Ticket queues as SQL over the precomputed due times (never a loop over tickets).

* ``mine`` — open work (new, open, pending) assigned to someone (default: who asks);
* ``unassigned`` — open work nobody holds;
* ``breaching_soon`` — a running SLA clock is due within the window (not breached yet);
* ``breached`` — an SLA clock is past due and not met;
* ``open`` — all open work.

Every queue can be narrowed to a team. Counts come from the same conditions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import kith

from .refs import OPEN_STATUSES, mark
from .tables import TicketState

QUEUES = ("mine", "unassigned", "breaching_soon", "breached", "open")
_STATUSES = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
_COLUMNS = (
    't."id", t."subject", t."status", t."priority", t."assignee_id", t."team_id", '
    't."requester_id", t."created_at", t."updated_at", s."next_breach_at", s."breached_at", '
    's."first_response_due_at", s."next_response_due_at", s."resolution_due_at"'
)


class Query:
    """A WHERE clause with its parameters, placeholders numbered as they are added."""

    def __init__(self, ctx: kith.Context, start: int = 1) -> None:
        self.ctx = ctx
        self.start = start
        self.where: list[str] = ['t."archived_at" IS NULL']
        self.params: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        marks = mark(self.ctx, len(values), start=self.start + len(self.params))
        self.where.append(template.format(*marks))
        self.params.extend(values)

    def ts(self, value: datetime) -> Any:
        return self.ctx.kith.db.statements.codec(TicketState).encode("next_breach_at", value)

    @property
    def sql(self) -> str:
        return " AND ".join(self.where)


def _conditions(
    ctx: kith.Context,
    queue: str,
    team_id: int | None,
    user_id: int | None,
    within: timedelta,
    now: datetime,
    start: int = 1,
) -> tuple[Query, str, str, str]:
    """The query of ``queue`` at ``now`` (placeholders numbered from ``start``), its FROM
    clause, its ORDER BY, and the FROM clause its count needs."""
    q = Query(ctx, start)
    counting = ""
    if queue == "breaching_soon":
        # Start from the indexed due time; the join only fetches the matching tickets. Only a
        # running clock has a due time, and no clock runs on an archived, solved, closed or
        # merged ticket (the engine pauses or stops them), so the due time alone decides and
        # without a team the count is a range of the index, no join.
        q.where.clear()
        source = 'FROM "service_ticket_state" s JOIN "tickets" t ON t."id" = s."ticket_id"'
        q.add('s."next_breach_at" >= {} AND s."next_breach_at" < {}', q.ts(now), q.ts(now + within))
        order = 's."next_breach_at", t."id"'
        if team_id is None:
            counting = 'FROM "service_ticket_state" s'
    elif queue == "breached":
        source = 'FROM "service_ticket_state" s JOIN "tickets" t ON t."id" = s."ticket_id"'
        q.where.append('s."breached_at" IS NOT NULL')
        q.where.append(f't."status" IN ({_STATUSES})')
        order = 's."breached_at", t."id"'
    else:
        source = 'FROM "tickets" t LEFT JOIN "service_ticket_state" s ON s."ticket_id" = t."id"'
        q.where.append(f't."status" IN ({_STATUSES})')
        if queue == "mine":
            if user_id is None:
                raise kith.invalid("assignee", "'mine' needs a user: give an assignee")
            q.add('t."assignee_id" = {}', user_id)
        elif queue == "unassigned":
            q.where.append('t."assignee_id" IS NULL')
        order = 's."next_breach_at" IS NULL, s."next_breach_at", t."id"'
    if team_id is not None:
        q.add('t."team_id" = {}', team_id)
    return q, source, order, counting or source


async def queue_page(
    ctx: kith.Context,
    queue: str,
    *,
    team_id: int | None,
    user_id: int | None,
    within: timedelta,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """``(count, tickets)`` of one queue: the count of all, the tickets of one page.

    One statement answers both: the page, with the count as an uncorrelated subquery the
    database computes once from the due-time index (never a window over every match)."""
    now = ctx.now()
    # the count comes first in the statement, so its placeholders are numbered first
    counted, source, order, counting = _conditions(ctx, queue, team_id, user_id, within, now)
    q, *_ = _conditions(ctx, queue, team_id, user_id, within, now, len(counted.params) + 1)
    params = [*counted.params, *q.params]
    page_marks = mark(ctx, 2, start=len(params) + 1)
    rows = await ctx.fetch(
        f'SELECT {_COLUMNS}, (SELECT COUNT(*) {counting} WHERE {counted.sql}) AS "queue_total" '
        f"{source} WHERE {q.sql} ORDER BY {order} LIMIT {page_marks[0]} OFFSET {page_marks[1]}",
        [*params, limit, offset],
    )
    if rows:
        count = int(rows[0]["queue_total"])
    elif offset == 0:
        count = 0
    else:  # a page past the end has no row to carry the count
        alone = await ctx.fetch(
            f"SELECT COUNT(*) AS n {counting} WHERE {counted.sql}", counted.params
        )
        count = int(alone[0]["n"])
    codec_t = ctx.kith.db.statements.codec(kith.Ticket)
    codec_s = ctx.kith.db.statements.codec(TicketState)
    tickets = []
    for r in rows:
        r = dict(r)
        del r["queue_total"]
        tickets.append(codec_s.decode(codec_t.decode(r)))
    return count, tickets


async def team_counts(
    ctx: kith.Context, *, team_id: int | None, user_id: int | None, within: timedelta
) -> list[dict[str, Any]]:
    """Per team: open, unassigned, breaching soon, breached and the asker's own."""
    q = Query(ctx)
    now = ctx.now()
    q.where.append(f't."status" IN ({_STATUSES})')
    marks = mark(ctx, 3)
    q.params.extend([q.ts(now), q.ts(now + within), user_id if user_id is not None else -1])
    if team_id is not None:
        q.add('t."team_id" = {}', team_id)
    sql = (
        'SELECT t."team_id" AS team_id, COUNT(*) AS open, '  # noqa: S608
        'SUM(CASE WHEN t."assignee_id" IS NULL THEN 1 ELSE 0 END) AS unassigned, '
        f'SUM(CASE WHEN s."next_breach_at" >= {marks[0]} AND s."next_breach_at" < {marks[1]} '
        "THEN 1 ELSE 0 END) AS breaching_soon, "
        'SUM(CASE WHEN s."breached_at" IS NOT NULL THEN 1 ELSE 0 END) AS breached, '
        f'SUM(CASE WHEN t."assignee_id" = {marks[2]} THEN 1 ELSE 0 END) AS mine '
        'FROM "tickets" t LEFT JOIN "service_ticket_state" s ON s."ticket_id" = t."id" '
        f'WHERE {q.sql} GROUP BY t."team_id" ORDER BY t."team_id"'
    )
    rows = await ctx.fetch(sql, q.params)
    return [
        {k: (int(v) if v is not None and k != "team_id" else v) for k, v in r.items()} for r in rows
    ]
