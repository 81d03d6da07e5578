"""``kith import``, ``kith export``, ``kith duplicates``, ``kith backup``, ``kith restore``.

Added to the ``kith`` command line by :func:`register`. Imports run in this process with a
progress bar (``--background`` leaves them to the job runner of ``kith run``); running the
same command again on the same file resumes an import that was interrupted.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import KithError
from ..settings import Settings


def _options(mapping: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in mapping:
        column, sep, field = item.rpartition("=")
        if not sep or not column.strip():
            raise KithError("invalid_input", f"--map {item!r}: write COLUMN=FIELD (or COLUMN=-)")
        out[column.strip()] = field.strip()
    return out


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise KithError("invalid_input", f"{option} {item!r}: write FIELD=VALUE")
        out[key.strip()] = value.strip()
    return out


def _user(actor: Any) -> dict[str, Any]:
    return {"id": actor.user_id, "role": actor.role, "name": actor.name, "email": actor.email}


def _describe(plan: Any) -> None:
    d = plan.describe()
    click.echo(
        f"{d['file']}: {d['encoding']}, {d['delimiter']}-separated, key {d['key']}", err=True
    )
    for column, field in d["mapping"].items():
        click.echo(f"  {column} → {field}", err=True)
    for note in d["notes"]:
        click.echo(f"  note: {note}", err=True)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[k]:,} {k}" for k in ("created", "updated", "skipped", "rejected"))


def register(main: click.Group) -> None:
    """Add the data-io commands to the ``kith`` group."""
    from ..cli import actor_for, async_command, load_kith, print_json

    @main.command("import")
    @click.argument("entity", type=click.Choice(["contacts", "organizations", "deals", "leads"]))
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Report what each row would do; write nothing.")
    @click.option(
        "--map",
        "mapping",
        multiple=True,
        metavar="COLUMN=FIELD",
        help="Fill FIELD from COLUMN (custom.<key> for custom fields; FIELD '-' skips).",
    )
    @click.option(
        "--key",
        help="Match existing records on email, domain, id, external:<system> "
        "or none (default: email for contacts and leads, domain for organizations).",
    )
    @click.option("--mode", type=click.Choice(["upsert", "create", "update"]), default="upsert")
    @click.option(
        "--encoding", help="Force an encoding (default: UTF-8 or Windows-1252, detected)."
    )
    @click.option("--delimiter", help="Force a delimiter (default: detected; 'tab' for tabs).")
    @click.option(
        "--date-order", type=click.Choice(["dmy", "mdy"]), help="For dates like 04/03/2026."
    )
    @click.option("--currency", help="Currency of amounts that do not say (e.g. EUR).")
    @click.option(
        "--no-create-organizations",
        is_flag=True,
        help="Reject rows whose company does not exist instead of creating it.",
    )
    @click.option(
        "--rejects",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where to write rejected rows (default: FILE.rejects.csv here).",
    )
    @click.option(
        "--report",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Dry run: write every row's outcome to this CSV.",
    )
    @click.option("--background", is_flag=True, help="Leave the import to `kith run`'s jobs.")
    @click.option("--restart", is_flag=True, help="Start over instead of resuming.")
    @click.option("--as", "as_email", envvar="KITH_AS", help="Email of the user who imports.")
    @async_command
    async def import_(
        entity: str,
        file: Path,
        dry_run: bool,
        mapping: tuple[str, ...],
        key: str | None,
        mode: str,
        encoding: str | None,
        delimiter: str | None,
        date_order: str | None,
        currency: str | None,
        no_create_organizations: bool,
        rejects: Path | None,
        report: Path | None,
        background: bool,
        restart: bool,
        as_email: str | None,
    ) -> None:
        """Import a CSV of contacts, organizations, deals or leads: existing records are
        updated (matched on --key), new ones created, bad rows listed in a rejects file.

        Example: kith import contacts outlook.csv --dry-run --as you@example.com
        """
        from .import_csv import (
            create_run,
            find_resumable,
            import_actor,
            load_run,
            run_to_end,
            write_rejects,
        )
        from .import_csv import dry_run as check
        from .plan import ImportOptions, plan_import

        if delimiter in ("tab", "\\t"):
            delimiter = "\t"
        options = ImportOptions(
            mapping=_options(mapping),
            key=key,
            mode=mode,
            encoding=encoding,
            delimiter=delimiter,
            date_order=date_order,
            currency=currency,
            create_organizations=not no_create_organizations,
        )
        kith = load_kith()
        async with kith:
            actor = await actor_for(kith, as_email)
            actor.require("imports.manage", "import")
            plan = await plan_import(kith, entity, file, options)
            _describe(plan)
            importer = import_actor(_user(actor), file.name)
            done = {"offset": plan.info.data_offset}
            if dry_run:
                with click.progressbar(
                    length=plan.info.size, label="Checking", file=sys.stderr
                ) as bar:

                    def step(result: Any) -> None:
                        bar.update(result.offset - done["offset"])
                        done["offset"] = result.offset

                    result = await check(kith, importer, plan, progress=step)
                click.echo(f"Dry run: {_summary(result.counts())} (nothing written)")
                shown = [o for o in result.outcomes if o.action in ("rejected", "skipped")]
                for o in shown[:50]:
                    where = (
                        f" {o.field}" + (f" ({o.column})" if o.column else "") if o.field else ""
                    )
                    click.echo(f"  row {o.row}: {o.action}{where}: {o.reason}")
                if len(shown) > 50:
                    click.echo(f"  … {len(shown) - 50} more; --report FILE lists every row")
                if report:
                    with report.open("w", encoding="utf-8-sig", newline="") as f:
                        out = csv.writer(f)
                        out.writerow(["row", "action", "record", "field", "column", "reason"])
                        for o in result.outcomes:
                            out.writerow(
                                [
                                    o.row,
                                    o.action,
                                    o.record_id or "",
                                    o.field,
                                    o.column or "",
                                    o.reason,
                                ]
                            )
                    click.echo(f"Every row's outcome: {report}")
                return
            run = None if restart else await find_resumable(kith, plan)
            if run is not None:
                click.echo(
                    f"Resuming import #{run['id']} after row {run['rows_done'] + 1:,}", err=True
                )
                done["offset"] = run["byte_offset"]
            else:
                run = await create_run(kith, importer, plan, schedule=background)
            if background:
                click.echo(
                    f"Import #{run['id']} runs in the background (kith run); "
                    f"follow it with: kith call import.status '{{\"run\": {run['id']}}}'"
                )
                return
            with click.progressbar(
                length=plan.info.size, label="Importing", file=sys.stderr
            ) as bar:
                bar.update(done["offset"])

                def advance(result: Any) -> None:
                    bar.update(result.offset - done["offset"])
                    done["offset"] = result.offset

                run = await run_to_end(kith, run["id"], advance)
            await kith.drain()
            line = f"Imported {file.name}: {_summary(run)}"
            if run["rejected"]:
                target = rejects or Path.cwd() / f"{file.stem}.rejects.csv"
                await write_rejects(
                    kith.db.fetch, kith.db.statements, await load_run(kith, run["id"]), target
                )
                line += f" — rejected rows with their reasons: {target}"
            click.echo(line)

    @main.command("export")
    @click.argument("entity")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv")
    @click.option(
        "--filter",
        "filters",
        multiple=True,
        metavar="FIELD=VALUE",
        help="Only records whose FIELD equals VALUE (owner=3, lifecycle_stage=customer).",
    )
    @click.option("--include-archived", is_flag=True)
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write to this file (default: standard output).",
    )
    @click.option("--as", "as_email", envvar="KITH_AS", help="Email of the user who exports.")
    @async_command
    async def export(
        entity: str,
        fmt: str,
        filters: tuple[str, ...],
        include_archived: bool,
        output: Path | None,
        as_email: str | None,
    ) -> None:
        """Export a list (contacts, organizations, deals, leads, activities, tasks, tickets)
        as CSV or JSON lines, streamed: any size, constant memory."""
        from .export import export_stream

        kith = load_kith()
        async with kith:
            actor = await actor_for(kith, as_email)
            stream = export_stream(
                kith,
                actor,
                entity,
                fmt=fmt,
                filters=_pairs(filters, "--filter"),
                include_archived=include_archived,
            )
            if output is None:
                async for chunk in stream:
                    sys.stdout.write(chunk)
                return
            with output.open("w", encoding="utf-8", newline="") as f:
                async for chunk in stream:
                    f.write(chunk)
            click.echo(f"Wrote {output}", err=True)

    @main.command("duplicates")
    @click.argument("entity", type=click.Choice(["contacts", "organizations"]), default="contacts")
    @click.option("--record", help="Only the duplicates of this record (id, email, name).")
    @click.option("--min-score", type=int, default=60, show_default=True)
    @click.option("--limit", type=int, default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.option("--as", "as_email", envvar="KITH_AS", help="Email of the user who asks.")
    @async_command
    async def duplicates(
        entity: str,
        record: str | None,
        min_score: int,
        limit: int,
        as_json: bool,
        as_email: str | None,
    ) -> None:
        """List records that look like the same one, with a score and the reasons."""
        kith = load_kith()
        async with kith:
            actor = await actor_for(kith, as_email)
            payload: dict[str, Any] = {"entity": entity, "min_score": min_score, "limit": limit}
            if record:
                payload["record"] = record
            result = await kith.run("duplicates.find", payload, actor)
        if as_json:
            print_json(result)
            return
        for p in result.pairs:
            click.echo(
                f"{p.score:3}  #{p.a.id} {p.a.label}  ~  #{p.b.id} {p.b.label}  "
                f"({'; '.join(p.reasons)})"
            )
        click.echo(
            f"{result.total} pair(s); merge with: kith call {result.entity}.merge "
            '\'{"survivor": A, "loser": B}\'',
            err=True,
        )

    @main.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @async_command
    async def backup_(file: Path) -> None:
        """Back up the database to FILE (safe while Kith runs): SQLite's online backup, or
        pg_dump's custom format on PostgreSQL."""
        from .backup import backup

        result = await backup(Settings.from_env().database_url, file)
        click.echo(
            f"Backed up to {result['file']} ({result['bytes']:,} bytes, {result['dialect']})"
        )

    @main.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @async_command
    async def restore_(file: Path) -> None:
        """Restore a backup FILE into the database of KITH_DATABASE_URL, which must be empty
        (a new database, or just migrated). Stop Kith on that database first."""
        from .backup import restore

        result = await restore(Settings.from_env().database_url, file)
        click.echo(f"Restored {result['rows']:,} rows in {result['tables']} tables from {file}")
