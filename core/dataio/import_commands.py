"""The import as commands (API, MCP, Slack get them) and as a resumable job.

``import.check`` is the dry run; ``import.start`` records the run and schedules the
``import.batch`` job, which imports one batch per run of the job and schedules the next, so
each batch commits together with its job's "done" mark and a crash resumes after the last
committed batch. ``import.status`` shows progress and the first rejects; ``import.cancel``
stops a run between batches.

Files: channels give the CSV's ``content`` (saved under ``KITH_IMPORT_DIR``) or name a
``file`` already in that folder; paths outside it are refused (the CLI, which runs on the
operator's machine, reads any path it is given).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..commands import command
from ..context import Context
from ..entities._common import Input
from ..errors import FieldError, KithError
from ..jobs import job
from ..tables import ImportReject, ImportRun
from .import_csv import (
    FATAL,
    dry_run,
    fail,
    import_actor,
    load_run,
    run_batch,
    run_values,
    write_rejects,
)
from .plan import ImportOptions, plan_import

Entity = Literal["contacts", "organizations", "deals", "leads"]
SHOWN = 1000


class ImportInput(Input):
    entity: Entity
    file: str | None = Field(None, description="A file in the import folder (KITH_IMPORT_DIR)")
    content: str | None = Field(None, description="The CSV itself, as text")
    file_name: str = Field("upload.csv", max_length=200, description="Name shown for content")
    mapping: dict[str, str] = Field(
        default_factory=dict, description="Column → field ('custom.<key>'; '-' ignores it)"
    )
    key: str | None = Field(None, description="email, domain, id, external:<system> or none")
    mode: Literal["upsert", "create", "update"] = "upsert"
    date_order: Literal["dmy", "mdy"] | None = None
    currency: str | None = None
    encoding: str | None = None
    delimiter: Literal[",", ";", "\t", "|"] | None = None
    create_organizations: bool = True

    def options(self) -> ImportOptions:
        return ImportOptions(
            mapping=self.mapping,
            key=self.key,
            mode=self.mode,
            date_order=self.date_order,
            currency=self.currency,
            encoding=self.encoding,
            delimiter=self.delimiter,
            create_organizations=self.create_organizations,
        )


class ImportCheck(ImportInput):
    limit: int | None = Field(None, ge=1, description="Check only the first rows")


class RowOutcome(BaseModel):
    row: int
    action: str
    record: int | None = None
    reason: str | None = None
    field: str | None = None
    column: str | None = None


class ImportPlanOut(BaseModel):
    entity: str
    file: str
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    ignored: list[str]
    key: str
    mode: str
    date_order: str
    notes: list[str]


class ImportCheckOut(BaseModel):
    plan: ImportPlanOut
    created: int
    updated: int
    skipped: int
    rejected: int
    rows: list[RowOutcome]
    truncated: bool


class ImportRunOut(BaseModel):
    id: int
    entity: str
    file: str
    status: str
    rows_done: int
    created: int
    updated: int
    skipped: int
    rejected: int
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    rejects: list[RowOutcome] = []
    rejects_file: str | None = None


class ImportRef(Input):
    run: int = Field(description="The import's id")


def import_dir(ctx: Context) -> Path:
    return Path(ctx.kith.settings.import_dir)


def source_path(ctx: Context, data: ImportInput) -> Path:
    """Where the CSV is: saved ``content``, or a ``file`` inside the import folder."""
    folder = import_dir(ctx)
    if (data.content is None) == (data.file is None):
        raise KithError(
            "invalid_input",
            "Give the CSV as content, or name a file in the import folder (not both).",
            [FieldError("content", "give content or file")],
        )
    if data.content is not None:
        size = len(data.content.encode("utf-8"))
        limit = ctx.kith.settings.import_max_bytes
        if size > limit:
            message = (
                f"content is {size / 1e6:,.1f} MB; imports are limited to {limit / 1e6:,.1f} MB"
            )
            raise KithError(
                "too_large", message, [FieldError("content", message, "too_large")], 413
            )
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(data.file_name).name)
        path = folder / f"upload-{uuid.uuid4().hex[:12]}-{safe or 'upload.csv'}"
        path.write_text(data.content, encoding="utf-8", newline="")
        return path
    path = (folder / str(data.file)).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise KithError(
            "invalid_input",
            "file: name a file inside the import folder (KITH_IMPORT_DIR), or send its content",
            [FieldError("file", "outside the import folder")],
        )
    return path


def _outcomes(outcomes: list[Any]) -> list[dict[str, Any]]:
    return [o.as_dict() for o in outcomes[:SHOWN]]


@command(
    "import.check",
    input=ImportCheck,
    output=ImportCheckOut,
    permission="imports.manage",
    read_only=True,
)
async def check_import(ctx: Context, data: ImportCheck) -> dict[str, Any]:
    """Dry run of a CSV import: what each row would do (created, updated, skipped or
    rejected, and why), without writing anything."""
    path = source_path(ctx, data)
    plan = await plan_import(ctx.kith, data.entity, path, data.options())
    if data.content is not None:
        plan.name = Path(data.file_name).name or "upload.csv"
    actor = import_actor(_user(ctx), plan.name)
    result = await dry_run(ctx.kith, actor, plan, limit=data.limit)
    if data.content is not None:
        path.unlink(missing_ok=True)
    return {
        "plan": plan.describe(),
        **result.counts(),
        "rows": _outcomes(result.outcomes),
        "truncated": len(result.outcomes) > SHOWN,
    }


def _user(ctx: Context) -> dict[str, Any] | None:
    a = ctx.actor
    if a.user_id is None:
        return None
    return {"id": a.user_id, "role": a.role, "name": a.name, "email": a.email}


@command("import.start", input=ImportInput, output=ImportRunOut, permission="imports.manage")
async def start_import(ctx: Context, data: ImportInput) -> dict[str, Any]:
    """Import a CSV of contacts, organizations, deals or leads: existing records (matched on
    email, domain, id or an external id) are updated, new ones created. Runs in the
    background in batches; follow it with import.status."""
    path = source_path(ctx, data)
    plan = await plan_import(ctx.kith, data.entity, path, data.options())
    if data.content is not None:
        plan.name = Path(data.file_name).name or "upload.csv"
    actor = import_actor(_user(ctx), plan.name)
    run = await ctx.insert(ImportRun, run_values(plan, actor), record_history=False)
    await ctx.schedule("import.batch", {"run": run["id"]}, key=f"import:{run['id']}")
    ctx.emit(
        "import.started", "import", run["id"], record_type=run["entity"], file=run["file_name"]
    )
    return present_run(run)


def present_run(run: dict[str, Any], rejects: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": run["id"],
        "entity": run["entity"],
        "file": run["file_name"],
        "status": run["status"],
        "rows_done": run["rows_done"],
        "created": run["created"],
        "updated": run["updated"],
        "skipped": run["skipped"],
        "rejected": run["rejected"],
        "error": run["error"],
        "started_at": run["created_at"],
        "finished_at": run["finished_at"],
        "rejects": rejects or [],
        "rejects_file": run.get("rejects_file"),
    }


@command(
    "import.status", input=ImportRef, output=ImportRunOut, permission="imports.read", read_only=True
)
async def import_status(ctx: Context, data: ImportRef) -> dict[str, Any]:
    """Progress of an import: rows done, created, updated, skipped, rejected, and the first
    rejected rows with their field and reason."""
    run = await load_run(ctx.kith, data.run)
    rejects = await ctx.select(ImportReject, order_by="id", limit=100, run_id=run["id"])
    shown = [
        {
            "row": r["row_number"],
            "action": "rejected",
            "field": r["field"],
            "column": r["column_name"],
            "reason": r["reason"],
        }
        for r in rejects
    ]
    path = rejects_path(ctx.kith.settings.import_dir, run["id"])
    run["rejects_file"] = str(path) if path.exists() else None
    return present_run(run, shown)


@command(
    "import.cancel",
    input=ImportRef,
    output=ImportRunOut,
    permission="imports.manage",
    idempotent=True,
)
async def cancel_import(ctx: Context, data: ImportRef) -> dict[str, Any]:
    """Stop an import between two batches; what it imported so far stays."""
    run = await ctx.get(ImportRun, data.run, field="run")
    if run["status"] == "running":
        run, _ = await ctx.update(
            ImportRun, run, {"status": "cancelled", "finished_at": ctx.now()}, record_history=False
        )
        await ctx.cancel(f"import:{run['id']}")
        ctx.emit("import.cancelled", "import", run["id"], rows=run["rows_done"])
    return present_run(run)


def rejects_path(folder: str, run_id: int) -> Path:
    return Path(folder) / f"import-{run_id}-rejects.csv"


@job("import.batch", max_attempts=10, backoff_base_s=10.0, lease=timedelta(minutes=15))
async def import_batch_job(ctx: Context, payload: dict[str, Any]) -> None:
    """Import the next batch of an import and schedule the one after it."""
    run_id = int(payload["run"])
    try:
        result = await run_batch(ctx.kith, run_id, parent=ctx)
    except KithError as err:
        if err.code not in FATAL:
            raise
        await fail(ctx, run_id, err.message)
        return
    if not result.done:
        await ctx.schedule("import.batch", {"run": run_id}, key=f"import:{run_id}")
    elif result.run is not None and result.run["rejected"]:
        path = rejects_path(ctx.kith.settings.import_dir, run_id)
        await write_rejects(ctx.fetch, ctx.kith.db.statements, result.run, path)


COMMANDS = [check_import, start_import, import_status, cancel_import]
JOBS = [import_batch_job]
