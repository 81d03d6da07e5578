"""``kith automations …``: import and export YAML, list, dry-run and read the run log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli import actor_for, async_command, load_kith, print_json
from ..permissions import SYSTEM, Actor
from ..runtime import Kith


async def _actor(kith: Kith, as_email: str | None) -> Actor:
    return await actor_for(kith, as_email) if as_email else SYSTEM


AS_OPTION = click.option(
    "--as",
    "as_email",
    envvar="KITH_AS",
    help="Email of the user who does it (default: the operator, as the system).",
)


@click.group()
def automations() -> None:
    """Automations: when an event happens, if conditions hold, then act."""


@automations.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--defaults", is_flag=True, help="Import the automations Kith ships (disabled).")
@AS_OPTION
def import_(path: Path | None, defaults: bool, as_email: str | None) -> None:
    """Create or update the automations in a YAML file (all or nothing)."""
    from .yaml_io import default_automations

    if (path is None) == (not defaults):
        raise click.UsageError("give a YAML file or --defaults")
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot read {path}: {exc.strerror}") from None
    else:
        text = default_automations()
    _import(text, as_email)


@async_command
async def _import(text: str, as_email: str | None) -> None:
    kith = load_kith()
    async with kith:
        result = await kith.run("automation.import", {"yaml": text}, await _actor(kith, as_email))
        await kith.drain()
    for item in result.results:
        state = "enabled" if item["enabled"] else "disabled"
        click.echo(f"{item['result']:9} #{item['id']} {item['name']} ({state})")
        for problem in item.get("problems") or []:
            click.echo(f"          {problem['field']}: {problem['message']}")


@automations.command("export")
@click.argument("name", required=False)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
@AS_OPTION
def export(name: str | None, output: Path | None, as_email: str | None) -> None:
    """Write every automation (or NAME) as YAML, to stdout or --output."""
    text = _export(name, as_email)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


@async_command
async def _export(name: str | None, as_email: str | None) -> str:
    kith = load_kith()
    async with kith:
        payload = {"automation": name} if name else {}
        result = await kith.run("automation.export", payload, await _actor(kith, as_email))
    return str(result.yaml)


@automations.command("list")
@AS_OPTION
@async_command
async def list_(as_email: str | None) -> None:
    """List automations: id, state, version, trigger, name."""
    kith = load_kith()
    async with kith:
        result = await kith.run("automation.list", {}, await _actor(kith, as_email))
    for a in result.automations:
        state = "on " if a.enabled else "off"
        click.echo(f"#{a.id:<4} {state} v{a.version:<3} {a.trigger:28} {a.name}")
        for problem in a.problems:
            click.echo(f"      {problem['message']}")


@automations.command("dry-run")
@click.argument("name")
@click.option("--events", default=5, show_default=True, help="How many recent triggers.")
@AS_OPTION
@async_command
async def dry_run(name: str, events: int, as_email: str | None) -> None:
    """Show what NAME would do on recent events (nothing is written)."""
    kith = load_kith()
    async with kith:
        result = await kith.run(
            "automation.dry_run",
            {"automation": name, "events": events},
            await _actor(kith, as_email),
        )
    print_json(result)


@automations.command("runs")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True)
@AS_OPTION
@async_command
async def runs(name: str | None, limit: int, as_email: str | None) -> None:
    """The run log (newest first), as JSON."""
    kith = load_kith()
    async with kith:
        payload: dict[str, object] = {"limit": limit}
        if name:
            payload["automation"] = name
        result = await kith.run("automation.runs", payload, await _actor(kith, as_email))
    click.echo(json.dumps(result.model_dump(mode="json")["runs"], indent=2, ensure_ascii=False))


@automations.command("events")
def events() -> None:
    """The events automations can start from."""
    from .triggers import known_events

    kith = load_kith()
    for name, spec in sorted(known_events(kith).items()):
        click.echo(f"{name:34} {spec.description}")


@automations.command("actions")
def actions() -> None:
    """The actions automations can use, with their settings."""
    from .engine import engine_for

    kith = load_kith()
    for spec in engine_for(kith).actions:
        fields = ", ".join(spec.config.model_fields)
        click.echo(f"{spec.name:20} {spec.summary}")
        click.echo(f"{'':20} settings: {fields or '-'}")
