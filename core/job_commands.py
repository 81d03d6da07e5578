"""Commands to look after jobs: list, show, retry a dead one, cancel (admins; the CLI's
``kith jobs``, and later the admin's dead-jobs page and the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .commands import command
from .context import Context
from .errors import FieldError, KithError, not_found
from .jobs import _notify_scheduler
from .tables import Job

State = Literal["due", "scheduled", "running", "dead", "done", "cancelled", "all"]


class JobOut(BaseModel):
    id: int
    name: str
    status: str
    key: str | None
    payload: dict[str, Any]
    run_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    worker: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobList(BaseModel):
    jobs: list[JobOut]
    counts: dict[str, int] = Field(description="How many jobs are in each status (and due)")


class ListJobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: State | None = Field(
        None,
        description="due, scheduled, running, dead, done, cancelled or all (default: "
        "due, running and dead)",
    )
    name: str | None = Field(None, description="Only jobs of this kind, e.g. sales.follow_up")
    limit: int = Field(50, ge=1, le=1000)


class JobRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: int = Field(description="The job's id")


class CancelJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: int | None = Field(None, description="The job's id")
    key: str | None = Field(None, description="Or the key it was scheduled with")

    @model_validator(mode="after")
    def one_of(self) -> CancelJob:
        if (self.job is None) == (self.key is None):
            raise KithError(
                "invalid_input",
                "Say which job to cancel: its id or its key (one of them).",
                [FieldError("job", "give the job's id or its key, not both")],
            )
        return self


def _out(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "payload": row.get("payload") or {}}


@command("job.list", input=ListJobs, output=JobList, permission="jobs.admin", read_only=True)
async def list_jobs(ctx: Context, data: ListJobs) -> dict[str, Any]:
    """List jobs: due, running and dead ones by default, or those in one state."""
    db = ctx.kith.db
    codec = db.statements.codec(Job)
    now = codec.encode("run_at", ctx.now())
    conds: list[str] = []
    params: list[Any] = []

    def mark() -> str:
        return db.statements.placeholders(1, start=len(params))[0]

    state = data.state
    if state is None:
        params.append(now)
        conds.append(
            f'(("status" = \'scheduled\' AND "run_at" <= {mark()}) '
            "OR \"status\" IN ('running', 'dead'))"
        )
    elif state == "due":
        params.append(now)
        conds.append(f'"status" = \'scheduled\' AND "run_at" <= {mark()}')
    elif state != "all":
        params.append(state)
        conds.append(f'"status" = {mark()}')
    if data.name:
        params.append(data.name)
        conds.append(f'"name" = {mark()}')
    where = f"WHERE {' AND '.join(conds)}" if conds else ""
    order = '"run_at", "id"' if state in (None, "due", "scheduled") else '"updated_at" DESC'
    params.append(data.limit)
    rows = await ctx.fetch(
        f'SELECT * FROM "jobs" {where} ORDER BY {order} LIMIT {mark()}',  # noqa: S608
        params,
    )
    counts_rows = await ctx.fetch('SELECT "status", COUNT(*) AS n FROM "jobs" GROUP BY "status"')
    counts = {r["status"]: int(r["n"]) for r in counts_rows}
    due = await ctx.fetch(
        f'SELECT COUNT(*) AS n FROM "jobs" WHERE "status" = \'scheduled\' '  # noqa: S608
        f'AND "run_at" <= {db.statements.placeholders(1)[0]}',
        [now],
    )
    counts["due"] = int(due[0]["n"]) if due else 0
    return {"jobs": [_out(ctx, codec.decode(r)) for r in rows], "counts": counts}


async def _job(ctx: Context, job_id: int) -> dict[str, Any]:
    row = await ctx.find_one(Job, id=job_id)
    if row is None:
        raise not_found("job", job_id, "job")
    return row


@command("job.get", input=JobRef, output=JobOut, permission="jobs.admin", read_only=True)
async def get_job(ctx: Context, data: JobRef) -> dict[str, Any]:
    """Show one job with its payload, attempts and last error."""
    return _out(ctx, await _job(ctx, data.job))


@command("job.retry", input=JobRef, output=JobOut, permission="jobs.admin")
async def retry_job(ctx: Context, data: JobRef) -> dict[str, Any]:
    """Run a dead job again now, with a fresh set of attempts (its last error stays visible
    until it succeeds)."""
    row = await _job(ctx, data.job)
    if row["status"] != "dead":
        raise KithError(
            "invalid_state",
            f"Job {row['id']} is {row['status']}: only dead jobs can be retried.",
            [FieldError("job", f"is {row['status']}, not dead", "invalid_state")],
            status=409,
        )
    now = ctx.now()
    db = ctx.kith.db
    codec = db.statements.codec(Job)
    marks = db.statements.placeholders(3)
    updated = await ctx.fetch(
        f'UPDATE "jobs" SET "status" = \'scheduled\', "attempts" = 0, '  # noqa: S608
        f'"run_at" = {marks[0]}, "updated_at" = {marks[1]}, "finished_at" = NULL, '
        f'"lease_until" = NULL, "worker" = NULL WHERE "id" = {marks[2]} '
        "AND \"status\" = 'dead' RETURNING *",
        [codec.encode("run_at", now), codec.encode("updated_at", now), row["id"]],
    )
    if not updated:
        raise KithError("conflict", f"Job {row['id']} changed meanwhile; look again.", status=409)
    ctx.record_history("job", row["id"], "retried", {"status": ["dead", "scheduled"]})
    _notify_scheduler(ctx, now)
    ctx.root.jobs_scheduled.append(now)
    return _out(ctx, codec.decode(updated[0]))


@command("job.cancel", input=CancelJob, output=JobOut, permission="jobs.admin")
async def cancel_job(ctx: Context, data: CancelJob) -> dict[str, Any]:
    """Cancel a scheduled job (by id or key) so it never runs."""
    if data.job is not None:
        row = await _job(ctx, data.job)
    else:
        row = await ctx.find_one(Job, key=data.key, status="scheduled")
        if row is None:
            raise not_found("scheduled job with key", data.key, "key")
    if row["status"] != "scheduled":
        raise KithError(
            "invalid_state",
            f"Job {row['id']} is {row['status']}: only scheduled jobs can be cancelled.",
            [FieldError("job", f"is {row['status']}, not scheduled", "invalid_state")],
            status=409,
        )
    now = ctx.now()
    db = ctx.kith.db
    codec = db.statements.codec(Job)
    marks = db.statements.placeholders(3)
    updated = await ctx.fetch(
        f'UPDATE "jobs" SET "status" = \'cancelled\', "finished_at" = {marks[0]}, '  # noqa: S608
        f'"updated_at" = {marks[1]}, "lease_until" = NULL WHERE "id" = {marks[2]} '
        "AND \"status\" = 'scheduled' RETURNING *",
        [codec.encode("finished_at", now), codec.encode("updated_at", now), row["id"]],
    )
    if not updated:
        raise KithError(
            "conflict", f"Job {row['id']} started or changed meanwhile; look again.", status=409
        )
    ctx.record_history("job", row["id"], "cancelled", {"status": ["scheduled", "cancelled"]})
    return _out(ctx, codec.decode(updated[0]))


COMMANDS = [list_jobs, get_job, retry_job, cancel_job]
