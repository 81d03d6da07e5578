"""CSV imports that update instead of duplicating: batches, resume, dry runs.

An import is a row of ``import_runs`` and a file. Each batch (``KITH_IMPORT_BATCH_ROWS``
rows, 500 by default) is one transaction that runs every row through the entity's own
create or update command (nested, so the same validation, ``kith_validate`` hooks and
history apply; the history actor is ``import:<file>`` with the importing user's id), records
the rejects, and moves the run's byte offset and row count forward — all in that one
transaction. A crash loses at most the batch in flight, and the next attempt resumes right
after the last committed batch: nothing is imported twice.

Rows are fast-pathed: a batch first runs without per-row savepoints; if any row fails, the
batch rolls back to its savepoint and runs again with a savepoint per row, so valid rows
land and each invalid one is rejected with its reason. Per-record events are dropped unless
``KITH_IMPORT_RECORD_EVENTS`` asks for them; the run emits one ``import.completed``.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from pydantic import BaseModel

from ..commands import CommandSpec
from ..context import Context, current_context
from ..db.statements import Statements
from ..errors import KithError
from ..permissions import Actor
from ..tables import ImportReject, ImportRun, User
from .inline import inline
from .plan import KEY_COLUMNS, ImportPlan, custom_defs
from .rows import AMBIGUOUS, Outcome, ParsedRow, RowError, RowWriter

if TYPE_CHECKING:
    from ..runtime import Kith

DATA_ERRORS = (
    KithError,
    RowError,
    sqlite3.IntegrityError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
)


async def _no_handler(ctx: Context, data: Any) -> None:
    """A batch of a CSV import (run by the importer, not by channels)."""


BATCH_SPEC = CommandSpec(
    name="import.batch",
    handler=_no_handler,
    input=BaseModel,
    output=None,
    permission="imports.manage",
    description="A batch of a CSV import.",
)


class _Retry(Exception):
    """A row failed on the fast path: run the batch again with a savepoint per row."""


class _Rollback(Exception):
    """End a dry-run batch without committing it."""


@dataclass
class BatchResult:
    done: bool
    offset: int
    rows: int
    outcomes: list[Outcome] = field(default_factory=list)
    run: dict[str, Any] | None = None


def import_actor(user: dict[str, Any] | None, file_name: str) -> Actor:
    """The actor an import's history names: ``import:<file>`` with the user's id and role."""
    via = f"import:{file_name[:60]}"
    if user is None:
        return Actor(user_id=None, role="system", name="import", via=via)
    return Actor(
        user_id=user["id"], role=user["role"], name=user["name"], email=user["email"], via=via
    )


def read_rows(
    plan: ImportPlan, offset: int, first_row: int, limit: int
) -> tuple[list[tuple[int, list[str]]], int, bool]:
    """Up to ``limit`` records from byte ``offset``: ``[(row number, cells)]``, the offset
    after the last one, and whether the file ended. Row numbers count the header as row 1,
    as a spreadsheet shows them."""
    from .csvfile import RecordReader

    rows: list[tuple[int, list[str]]] = []
    with RecordReader(plan.info.path, plan.info.encoding, plan.info.delimiter, offset) as reader:
        try:
            for cells in reader:
                rows.append((first_row + len(rows), cells))
                if len(rows) >= limit:
                    end = reader.offset
                    return rows, end, reader.offset >= plan.info.size
        except (csv.Error, UnicodeDecodeError) as exc:
            raise KithError(
                "bad_csv",
                f"{plan.info.path.name}, row {first_row + len(rows)}: cannot be read ({exc})",
            ) from None
        return rows, reader.offset, True


# ---- one batch ------------------------------------------------------------------------------


def _mark(ctx: Context) -> tuple[int, int, int]:
    root = ctx.root
    return len(root._history_rows), len(root.events), len(root.jobs_scheduled)


def _reset(ctx: Context, mark: tuple[int, int, int]) -> None:
    root = ctx.root
    del root._history_rows[mark[0] :]
    del root.events[mark[1] :]
    del root.jobs_scheduled[mark[2] :]


async def _apply(
    ctx: Context,
    writer: RowWriter,
    parsed: ParsedRow,
    keymap: dict[Any, int],
    seen: dict[Any, int] | None,
) -> Outcome:
    """Run one row's command. Raises the command's error when it refuses the row."""
    plan = writer.plan
    entity = writer.target.entity
    existing = keymap.get(parsed.key) if parsed.key is not None else None
    if existing == AMBIGUOUS:
        raise RowError(
            KEY_COLUMNS[plan.key],
            f"several {writer.target.plural} have {parsed.key}; match on an external id instead",
        )
    if plan.key == "id" and existing is None:
        raise RowError("id", f"there is no {entity} #{parsed.key}")
    earlier = seen.get(parsed.key) if seen is not None and parsed.key is not None else None
    if existing is not None and plan.mode == "create":
        return Outcome(parsed.row, "skipped", existing, f"{entity} #{existing} exists already")
    if existing is None and plan.mode == "update" and earlier is None:
        return Outcome(parsed.row, "skipped", None, f"no {entity} matches {parsed.key!r}")
    values = parsed.values
    payload, notes = await writer.payload(ctx, values, existing)
    if existing is None:
        record = await ctx.run(writer.target.create_command, payload)
        record_id = int(record.id)
        if parsed.key is not None:
            keymap[parsed.key] = record_id
            if seen is not None:
                seen.setdefault(parsed.key, parsed.row)
        note = await writer.link_external_id(ctx, values, record_id)
        if earlier is not None:
            notes.insert(0, f"updates the {entity} row {earlier} creates")
            return Outcome(
                parsed.row, "updated", None, "; ".join([*notes, note] if note else notes)
            )
        return Outcome(parsed.row, "created", record_id, "; ".join(filter(None, [*notes, note])))
    if writer.unchanged(payload, existing):
        note = await writer.link_external_id(ctx, values, existing)
        return Outcome(
            parsed.row, "skipped", existing, "; ".join(filter(None, ["no changes", *notes, note]))
        )
    writer.current.pop(existing, None)
    before = len(ctx.root._history_rows)
    await ctx.run(writer.target.update_command, payload)
    changed = [
        k
        for h in ctx.root._history_rows[before:]
        if h[4] == entity and h[5] == existing
        for k in h[7]
    ]
    note = await writer.link_external_id(ctx, values, existing)
    notes = [*notes, note] if note else notes
    if not changed:
        return Outcome(parsed.row, "skipped", existing, "; ".join(["no changes", *notes]))
    return Outcome(parsed.row, "updated", existing, "; ".join([", ".join(changed), *notes]))


async def _apply_all(
    ctx: Context,
    writer: RowWriter,
    parsed: list[ParsedRow | Outcome],
    keymap: dict[Any, int],
    seen: dict[Any, int] | None,
    record_events: bool,
    savepoints: bool,
) -> list[Outcome]:
    tx = ctx.tx
    assert tx is not None
    outcomes: list[Outcome] = []
    for item in parsed:
        if isinstance(item, Outcome):
            outcomes.append(item)
            continue
        mark = _mark(ctx)
        if savepoints:
            await tx.execute("SAVEPOINT kith_row")
        try:
            outcome = await _apply(ctx, writer, item, keymap, seen)
        except DATA_ERRORS as err:
            if not savepoints:
                raise _Retry from err
            await tx.execute("ROLLBACK TO SAVEPOINT kith_row")
            _reset(ctx, mark)
            writer.organizations.clear()
            outcome = writer.rejected(
                item,
                err
                if isinstance(err, KithError | RowError)
                else KithError("conflict", f"conflicts with existing data: {err}"),
            )
        if savepoints:
            await tx.execute("RELEASE SAVEPOINT kith_row")
        if not record_events:
            del ctx.root.events[mark[1] :]
        outcomes.append(outcome)
    return outcomes


async def process_rows(
    ctx: Context,
    writer: RowWriter,
    rows: list[tuple[int, list[str]]],
    *,
    seen: dict[Any, int] | None = None,
) -> list[Outcome]:
    """Import ``rows`` in ``ctx``'s transaction; every row gets an outcome."""
    tx = ctx.tx
    assert tx is not None
    record_events = ctx.kith.settings.import_record_events
    parsed = [writer.parse(n, cells) for n, cells in rows]
    keyed = [p for p in parsed if isinstance(p, ParsedRow)]
    await tx.execute("SAVEPOINT kith_batch")
    mark = _mark(ctx)
    seen_before = dict(seen) if seen is not None else None
    keymap = await writer.prefetch(ctx, keyed)
    try:
        outcomes = await _apply_all(ctx, writer, parsed, keymap, seen, record_events, False)
    except _Retry:
        await tx.execute("ROLLBACK TO SAVEPOINT kith_batch")
        _reset(ctx, mark)
        writer.organizations.clear()
        if seen is not None and seen_before is not None:
            seen.clear()
            seen.update(seen_before)
        keymap = await writer.prefetch(ctx, keyed)
        outcomes = await _apply_all(ctx, writer, parsed, keymap, seen, record_events, True)
    await tx.execute("RELEASE SAVEPOINT kith_batch")
    return outcomes


# ---- runs -----------------------------------------------------------------------------------


async def load_run(kith: Kith, run_id: int) -> dict[str, Any]:
    st = kith.db.statements
    row = await kith.db.fetchone(st.select_where(ImportRun, ["id"]), [run_id])
    if row is None:
        raise KithError("not_found", f"No import #{run_id}.", status=404)
    return st.codec(ImportRun).decode(row)


async def run_actor(kith: Kith, run: dict[str, Any]) -> Actor:
    if run["user_id"] is None:
        return import_actor(None, run["file_name"])
    st = kith.db.statements
    user = await kith.db.fetchone(st.select_where(User, ["id"]), [run["user_id"]])
    if user is None or user["archived_at"] is not None or not user["active"]:
        raise KithError("forbidden", f"The user who started import #{run['id']} is deactivated")
    return import_actor(user, run["file_name"])


def run_values(plan: ImportPlan, actor: Actor) -> dict[str, Any]:
    """The ``import_runs`` row of a new import of ``plan``."""
    return {
        "entity": plan.target.entity,
        "file_name": plan.name[:255],
        "path": str(plan.info.path.resolve()),
        "file_size": plan.info.size,
        "file_sha256": plan.info.sha256,
        "encoding": plan.info.encoding,
        "delimiter": plan.info.delimiter,
        "header": plan.info.header,
        "mapping": {str(i): s.name for i, s in plan.mapping.items()},
        "options": plan.options(),
        "status": "running",
        "byte_offset": plan.info.data_offset,
        "rows_done": 0,
        "user_id": actor.user_id,
        "actor": actor.label[:100],
    }


async def create_run(
    kith: Kith, actor: Actor, plan: ImportPlan, *, schedule: bool = False
) -> dict[str, Any]:
    """Record a new import (status running, at the first data row); with ``schedule``, its
    first batch is scheduled as a job in the same transaction."""
    async with kith.db.transaction() as tx:
        ctx = Context(kith, actor, BATCH_SPEC, tx)
        row = await ctx.insert(ImportRun, run_values(plan, actor), record_history=False)
        if schedule:
            await ctx.schedule("import.batch", {"run": row["id"]}, key=f"import:{row['id']}")
        ctx.flush()
    if schedule:
        kith.jobs.wake()
    return row


async def find_resumable(kith: Kith, plan: ImportPlan) -> dict[str, Any] | None:
    """An unfinished import of the same file (same content) into the same entity."""
    st = kith.db.statements
    rows = await kith.db.fetch(
        st.select_where(ImportRun, ["entity", "file_sha256", "status"], "id", True),
        [plan.target.entity, plan.info.sha256, "running"],
    )
    return st.codec(ImportRun).decode(rows[0]) if rows else None


async def _batch(ctx: Context, run: dict[str, Any], plan: ImportPlan) -> BatchResult:
    kith = ctx.kith
    limit = kith.settings.import_batch_rows
    path = plan.info.path
    if not path.exists() or path.stat().st_size != run["file_size"]:
        raise KithError(
            "file_changed",
            f"{run['file_name']} changed or vanished since import #{run['id']} started",
        )
    rows, offset, eof = read_rows(plan, run["byte_offset"], run["rows_done"] + 2, limit)
    writer = RowWriter(plan)
    outcomes = await process_rows(ctx, writer, rows)
    counts = {k: run[k] for k in ("created", "updated", "skipped", "rejected")}
    for o in outcomes:
        counts[o.action] += 1
        if o.action == "rejected":
            await ctx.insert(
                ImportReject,
                {
                    "run_id": run["id"],
                    "row_number": o.row,
                    "field": o.field[:100],
                    "column_name": (o.column or None) and o.column[:200],
                    "reason": o.reason,
                    "row_values": o.values,
                },
                record_history=False,
            )
    changes: dict[str, Any] = {
        **counts,
        "byte_offset": offset,
        "rows_done": run["rows_done"] + len(rows),
    }
    if eof:
        changes.update(status="done", finished_at=ctx.now())
    run, _ = await ctx.update(ImportRun, run, changes, record_history=False)
    if eof:
        ctx.emit(
            "import.completed",
            "import",
            run["id"],
            record_type=run["entity"],
            file=run["file_name"],
            rows=run["rows_done"],
            created=run["created"],
            updated=run["updated"],
            skipped=run["skipped"],
            rejected=run["rejected"],
        )
    return BatchResult(eof, offset, len(rows), outcomes, run)


async def run_batch(kith: Kith, run_id: int, parent: Context | None = None) -> BatchResult:
    """Import the next batch of run ``run_id``: in ``parent``'s transaction (a job's), or in
    a transaction of its own. Returns whether the import is finished."""
    run = await load_run(kith, run_id)
    if run["status"] != "running":
        return BatchResult(True, run["byte_offset"], 0, run=run)
    actor = await run_actor(kith, run)
    plan = ImportPlan.from_run(run, await custom_defs(kith, run["entity"]))
    if parent is not None:
        ctx = Context(kith, actor, BATCH_SPEC, inline(parent.tx), parent)
        token = current_context.set(ctx)
        try:
            run = await ctx.get(ImportRun, run_id)
            return await _batch(ctx, run, plan)
        finally:
            current_context.reset(token)
    async with kith.db.transaction() as tx:
        ctx = Context(kith, actor, BATCH_SPEC, inline(tx))
        token = current_context.set(ctx)
        try:
            run = await ctx.get(ImportRun, run_id)
            result = await _batch(ctx, run, plan)
            ctx.flush()
        finally:
            current_context.reset(token)
    if ctx.events:
        kith.dispatcher.submit(ctx.events)
    return result


async def fail(ctx: Context, run_id: int, error: str) -> None:
    """Stop an import that cannot go on (an unreadable row, a changed file), in ``ctx``'s
    transaction, with its reason and an ``import.failed`` event."""
    run = await ctx.get(ImportRun, run_id)
    await ctx.update(
        ImportRun,
        run,
        {"status": "failed", "error": error[:4000], "finished_at": ctx.now()},
        record_history=False,
    )
    ctx.emit(
        "import.failed",
        "import",
        run_id,
        record_type=run["entity"],
        file=run["file_name"],
        error=error[:500],
    )


async def fail_run(kith: Kith, run_id: int, error: str) -> None:
    """:func:`fail` in a transaction of its own."""
    async with kith.db.transaction() as tx:
        ctx = Context(kith, import_actor(None, "import"), BATCH_SPEC, tx)
        await fail(ctx, run_id, error)
        ctx.flush()
    kith.dispatcher.submit(ctx.events)


FATAL = ("bad_csv", "file_changed")


async def run_to_end(
    kith: Kith, run_id: int, progress: Callable[[BatchResult], None] | None = None
) -> dict[str, Any]:
    """Import every remaining batch of ``run_id`` in this process (the CLI's way)."""
    while True:
        try:
            result = await run_batch(kith, run_id)
        except KithError as err:
            if err.code in FATAL:
                await fail_run(kith, run_id, err.message)
            raise
        if progress is not None:
            progress(result)
        if result.done:
            return await load_run(kith, run_id)


# ---- dry runs -------------------------------------------------------------------------------


@dataclass
class DryRun:
    plan: ImportPlan
    outcomes: list[Outcome]

    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "skipped": 0, "rejected": 0}
        for o in self.outcomes:
            counts[o.action] += 1
        return counts


async def dry_run(
    kith: Kith,
    actor: Actor,
    plan: ImportPlan,
    *,
    limit: int | None = None,
    progress: Callable[[BatchResult], None] | None = None,
) -> DryRun:
    """Run the import in transactions that are rolled back: what each row would do."""
    writer = RowWriter(plan)
    seen: dict[Any, int] = {}
    outcomes: list[Outcome] = []
    offset, row = plan.info.data_offset, 2
    batch = kith.settings.import_batch_rows
    while True:
        want = batch if limit is None else min(batch, limit - len(outcomes))
        if want <= 0:
            break
        rows, offset, eof = read_rows(plan, offset, row, want)
        row += len(rows)
        try:
            async with kith.db.transaction() as tx:
                ctx = Context(kith, actor, BATCH_SPEC, inline(tx))
                token = current_context.set(ctx)
                try:
                    outcomes.extend(await process_rows(ctx, writer, rows, seen=seen))
                finally:
                    current_context.reset(token)
                raise _Rollback
        except _Rollback:
            pass
        writer.organizations.clear()
        if progress is not None:
            progress(BatchResult(eof, offset, len(rows)))
        if eof:
            break
    return DryRun(plan, outcomes)


# ---- rejects --------------------------------------------------------------------------------


async def write_rejects(
    fetch: Callable[[str, list[Any]], Awaitable[list[dict[str, Any]]]],
    statements: Statements,
    run: dict[str, Any],
    path: Path,
) -> int:
    """Write the run's rejected rows to ``path`` (UTF-8 with a BOM, so Excel reads accents):
    row, field, column, reason, then the row's own columns. ``fetch`` is ``kith.db.fetch``
    (committed rows) or a job's ``ctx.fetch`` (its own batch too). Returns how many."""
    codec = statements.codec(ImportReject)
    path.parent.mkdir(parents=True, exist_ok=True)
    count, last = 0, 0
    mark = statements.placeholders(2)
    sql = (
        f'SELECT * FROM "import_rejects" WHERE "run_id" = {mark[0]} AND "id" > {mark[1]} '  # noqa: S608
        'ORDER BY "id" LIMIT 1000'
    )
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["row", "field", "column", "reason", *run["header"]])
        while True:
            rows = [codec.decode(r) for r in await fetch(sql, [run["id"], last])]
            if not rows:
                break
            for r in rows:
                out.writerow(
                    [
                        r["row_number"],
                        r["field"],
                        r["column_name"] or "",
                        r["reason"],
                        *r["row_values"],
                    ]
                )
            count += len(rows)
            last = rows[-1]["id"]
    return count
