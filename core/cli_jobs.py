"""``kith jobs`` (look after jobs) and ``kith worker`` (run them at scale)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import click

from .cli import async_command, fail, load_kith, print_json
from .errors import KithError
from .permissions import SYSTEM

STATES = ["due", "scheduled", "running", "dead", "done", "cancelled", "all"]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _first_line(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = text.strip().splitlines()[-1] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


@click.group("jobs", invoke_without_command=True)
@click.pass_context
def jobs(ctx: click.Context) -> None:
    """Look after jobs: list due, running and dead ones, show one, retry, cancel.

    Without a subcommand: the due, running and dead jobs.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(jobs_list)


@jobs.command("list")
@click.argument("state", type=click.Choice(STATES), required=False)
@click.option("--name", default=None, help="Only jobs of this kind, e.g. sales.follow_up")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@async_command
async def jobs_list(state: str | None, name: str | None, limit: int, as_json: bool) -> None:
    """List jobs in STATE (default: due, running and dead)."""
    kith = load_kith()
    async with kith:
        result = await kith.run("job.list", {"state": state, "name": name, "limit": limit}, SYSTEM)
    if as_json:
        print_json(result)
        return
    c = result.counts
    click.echo(
        f"due {c.get('due', 0)} · scheduled {c.get('scheduled', 0)} · running "
        f"{c.get('running', 0)} · dead {c.get('dead', 0)} · done {c.get('done', 0)} · "
        f"cancelled {c.get('cancelled', 0)}"
    )
    if not result.jobs:
        click.echo("(no jobs to show)")
        return
    click.echo(
        f"{'id':>7}  {'status':9}  {'run at (UTC)':19}  {'tries':5}  {'name':24}  key / error"
    )
    for j in result.jobs:
        note = _first_line(j.last_error) if j.status in ("dead", "scheduled") else ""
        tail = " / ".join(x for x in (j.key or "", note) if x)
        click.echo(
            f"{j.id:>7}  {j.status:9}  {_when(j.run_at):19}  "
            f"{j.attempts}/{j.max_attempts:<3}  {j.name:24}  {tail}"
        )


@jobs.command("show")
@click.argument("job_id", type=int, metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@async_command
async def jobs_show(job_id: int, as_json: bool) -> None:
    """Show one job with its payload, attempts and last error."""
    kith = load_kith()
    async with kith:
        j = await kith.run("job.get", {"job": job_id}, SYSTEM)
    if as_json:
        print_json(j)
        return
    rows: list[tuple[str, Any]] = [
        ("job", f"#{j.id} {j.name}"),
        ("status", j.status),
        ("key", j.key or "-"),
        ("run at", f"{_when(j.run_at)} UTC"),
        ("attempts", f"{j.attempts} of {j.max_attempts}"),
        ("worker", j.worker or "-"),
        ("lease until", _when(j.lease_until)),
        ("created", _when(j.created_at)),
        ("finished", _when(j.finished_at)),
        ("payload", j.payload),
    ]
    for label, value in rows:
        click.echo(f"{label:>12}: {value}")
    if j.last_error:
        click.echo("  last error:")
        for line in j.last_error.splitlines():
            click.echo(f"    {line}")
    if j.status == "dead":
        click.echo(f"\nRetry it with: kith jobs retry {j.id}")


@jobs.command("retry")
@click.argument("job_id", type=int, metavar="ID")
@async_command
async def jobs_retry(job_id: int) -> None:
    """Run a dead job again now (with a fresh set of attempts)."""
    kith = load_kith()
    async with kith:
        j = await kith.run("job.retry", {"job": job_id}, SYSTEM)
        await kith.drain()
    click.echo(f"Job #{j.id} {j.name} is scheduled again (runs at {_when(j.run_at)} UTC).")


@jobs.command("cancel")
@click.argument("job_id", type=int, metavar="ID", required=False)
@click.option("--key", default=None, help="Cancel the scheduled job with this key instead")
@async_command
async def jobs_cancel(job_id: int | None, key: str | None) -> None:
    """Cancel a scheduled job (by ID or --key) so it never runs."""
    kith = load_kith()
    async with kith:
        j = await kith.run("job.cancel", {"job": job_id, "key": key}, SYSTEM)
        await kith.drain()
    click.echo(f"Job #{j.id} {j.name} is cancelled.")


@click.command("worker")
@click.option(
    "--threads", type=int, default=None, help="Jobs at once (default KITH_WORKER_THREADS or 8)"
)
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Only run jobs; never lead the scheduler (some other process does).",
)
@click.option("--queue", default=None, help="Broker queue (default KITH_BROKER_QUEUE or kith)")
def worker(threads: int | None, no_scheduler: bool, queue: str | None) -> None:
    """Run jobs sent through KITH_BROKER_URL (PostgreSQL only), until SIGTERM.

    Run as many as you need, on as many machines. Each is also a candidate scheduler leader
    (one leads at a time, chosen by a PostgreSQL advisory lock) unless --no-scheduler.
    """
    from .broker import BrokerWorker, serve_forever

    kith = load_kith()
    logging.basicConfig(
        level=kith.settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)
    try:
        w = BrokerWorker(lambda: kith, threads=threads, scheduler=not no_scheduler, queue=queue)
    except KithError as err:
        fail(err)
        return
    click.echo(
        f"kith worker: {w.threads} threads, queue {w.queue!r}, "
        f"{'scheduler candidate' if w.with_scheduler else 'no scheduler'}"
    )
    serve_forever(w)
