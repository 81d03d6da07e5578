"""The ``kith`` command line: set up, run, and call any command."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import KithError
from .permissions import SYSTEM, Actor
from .runtime import Kith
from .settings import Settings

EXIT_USAGE = 2


def fail(err: KithError) -> None:
    """Print a KithError as a person reads it, and exit 2."""
    click.secho(f"error: {err.message}", fg="red", err=True)
    for f in err.fields:
        click.echo(f"  {f.field}: {f.message}", err=True)
    for c in err.candidates:
        click.echo(f"  candidate: #{c['id']} {c.get('label', '')}", err=True)
    sys.exit(EXIT_USAGE)


def async_command(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return asyncio.run(fn(*args, **kwargs))
        except KithError as err:
            fail(err)

    return wrapper


def load_kith() -> Kith:
    try:
        return Kith(Settings.from_env())
    except KithError as err:
        fail(err)
        raise  # unreachable


async def actor_for(kith: Kith, email: str | None) -> Actor:
    """The Kith user behind ``--as EMAIL`` (commands run with their role)."""
    if not email:
        raise KithError("invalid_input", "--as EMAIL is required: say which user runs the command")
    user = await kith.db.fetchone(
        kith.db.statements.select_where(_user_table(), ["email"]), [email.strip().lower()]
    )
    if user is None:
        raise KithError(
            "not_found", f"No user with email {email}. Add one: kith user add {email} --name …"
        )
    if user["archived_at"] is not None or not user["active"]:
        raise KithError("forbidden", f"User {email} is deactivated")
    return Actor(
        user_id=user["id"], role=user["role"], name=user["name"], email=user["email"], via="cli"
    )


def _user_table():  # type: ignore[no-untyped-def]
    from .tables import User

    return User


def print_json(value: Any) -> None:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.version_option(__version__, prog_name="kith")
def main() -> None:
    """Kith: the operational CRM you drive from Slack, email and this command line."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database tables (core first, then each plugin)."""
    from .migrate import migrate as run_migrations

    kith = load_kith()
    try:
        run_migrations(kith.settings.database_url, kith.hooks.tables(), quiet=False)
    except KithError as err:
        fail(err)
    click.echo(f"Database is up to date: {_safe_url(kith.settings.database_url)}")


def _safe_url(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


@main.command()
@click.option("--admin", "admin_email", help="Create this admin user if there is none yet.")
@click.option("--name", "admin_name", default=None, help="The admin's name.")
def init(admin_email: str | None, admin_name: str | None) -> None:
    """Set up this installation: database, secret key, first admin."""
    from .migrate import migrate as run_migrations

    kith = load_kith()
    _ensure_secret_key(kith)
    try:
        run_migrations(kith.settings.database_url, kith.hooks.tables())
    except KithError as err:
        fail(err)
    click.echo(f"Database ready: {_safe_url(kith.settings.database_url)}")
    _init_plugins(load_kith())  # its own Kith: one Kith object serves one event loop
    if admin_email:
        _ensure_admin(kith, admin_email, admin_name)


def _ensure_secret_key(kith: Kith) -> None:
    from .signing import ensure_secret_key

    created = ensure_secret_key(kith)
    if created:
        click.echo(
            f"Created secret key in {created} "
            "(keep it: signed links and encrypted settings need it)"
        )


@async_command
async def _init_plugins(kith: Kith) -> None:
    """Each plugin's ``kith_init``: default records (idempotent, so init can run again)."""
    async with kith:
        await kith.hooks.init(kith)
        await kith.drain()


@async_command
async def _ensure_admin(kith: Kith, email: str, name: str | None) -> None:
    async with kith:
        admins = await kith.db.fetch('SELECT "id" FROM "users" WHERE "role" = \'admin\' LIMIT 1')
        if admins:
            click.echo("An admin exists already; no user created.")
            return
        user = await kith.run(
            "user.create",
            {"email": email, "name": name or email.split("@")[0], "role": "admin"},
            SYSTEM,
        )
        click.echo(f"Created admin {user.email} (#{user.id}).")
        if "user.set_password" in kith.registry:  # the admin pages' log-in (admin plugin)
            import secrets

            password = secrets.token_urlsafe(12)
            await kith.run("user.set_password", {"user": user.id, "password": password}, SYSTEM)
            click.echo(
                f"Admin pages: http://{kith.settings.http_host}:{kith.settings.http_port}/admin/"
                f" — log in as {user.email} with "
                f"password {password} (shown this once; change it: kith user password "
                f"{user.email})"
            )


@main.command()
@click.option("--host", default=None, help="Default: KITH_HTTP_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="Default: KITH_HTTP_PORT or 8000")
@click.option(
    "--no-worker",
    is_flag=True,
    help="Serve only: run no jobs and never lead the scheduler (other processes do).",
)
def run(host: str | None, port: int | None, no_worker: bool) -> None:
    """Serve Kith: HTTP (health, and the channels as they are installed), and jobs.

    Without KITH_BROKER_URL, due jobs run inside this process. With it, this process is a
    candidate scheduler leader and `kith worker` processes run the jobs.
    """
    import uvicorn

    from .web import create_app

    os.environ.setdefault("KITH_SMTP_LISTEN", "1")  # the email channel's SMTP server
    kith = load_kith()
    _ensure_secret_key(kith)
    if kith.settings.broker_url and not no_worker:
        from .broker import require_postgres

        try:
            require_postgres(kith.settings.database_url, "KITH_BROKER_URL")
        except KithError as err:
            fail(err)
    app = create_app(kith, run_jobs=not no_worker)
    host = host or kith.settings.http_host
    port = port or kith.settings.http_port
    click.echo(f"Kith {__version__} on http://{host}:{port} ({kith.db.dialect})")
    uvicorn.run(app, host=host, port=port, log_level=kith.settings.log_level, access_log=False)


@main.group()
def plugin() -> None:
    """Write your own plugin."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Where to create kith-NAME/ (default: here).",
)
def plugin_new(name: str, parent: Path) -> None:
    """Create a plugin package kith-NAME: entry point, table and migration, commands, an
    event handler, a daily job, a chat verb, tests on kith.testing, a README."""
    from .scaffold import create

    try:
        target = create(name, parent)
    except KithError as err:
        fail(err)
    click.echo(f"Created {target}")
    click.echo(f"Next: pip install -e {target} && cd {target} && pytest")


@main.command("call")
@click.argument("command_name", metavar="COMMAND")
@click.argument("payload", default="{}", metavar="JSON")
@click.option(
    "--as", "as_email", envvar="KITH_AS", help="Email of the user who runs it (or KITH_AS)."
)
@async_command
async def call(command_name: str, payload: str, as_email: str | None) -> None:
    """Run any command with a JSON payload and print its result as JSON.

    Example:

        kith call contact.create '{"name":"Ada","email":"ada@example.com"}' --as you@example.com
    """
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise KithError(
            "invalid_input", f"JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    kith = load_kith()
    async with kith:
        actor = await actor_for(kith, as_email)
        result = await kith.run(command_name, data, actor)
        await kith.drain()
    print_json(result)


@main.command("commands")
def list_commands() -> None:
    """List every command with its permission and summary."""
    kith = load_kith()
    for spec in kith.registry:
        flag = "read " if spec.read_only else "write"
        click.echo(f"{spec.name:28} {flag} {spec.permission:22} {spec.summary}")


@main.command("plugins")
def list_plugins() -> None:
    """List the loaded plugins, where they come from and the hooks each implements."""
    kith = load_kith()
    for p in kith.plugins:
        version = f" {p.version}" if p.version else ""
        click.echo(f"{p.name}{version}  [{p.source}]  {p.module}")
        click.echo(f"    hooks: {', '.join(p.hooks) or '-'}")
    disabled = [n for n, on in kith.plugins_file.enabled.items() if not on]
    if disabled:
        click.echo(f"disabled in plugins.toml: {', '.join(sorted(disabled))}")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["viewer", "agent", "manager", "admin"]), default="agent")
@click.option("--time-zone", default="UTC")
@async_command
async def user_add(email: str, name: str, role: str, time_zone: str) -> None:
    """Add a user (run by the operator of this installation)."""
    kith = load_kith()
    async with kith:
        result = await kith.run(
            "user.create",
            {"email": email, "name": name, "role": role, "time_zone": time_zone},
            SYSTEM,
        )
        await kith.drain()
    print_json(result)


@user.command("show")
@click.argument("email")
@async_command
async def user_show(email: str) -> None:
    """Show a user (and their private command address, when the email channel is on)."""
    kith = load_kith()
    async with kith:
        result = await kith.run("user.get", {"user": email}, SYSTEM)
        shown = result.model_dump(mode="json")
        if "email.command_address" in kith.registry:
            address = await kith.run("email.command_address", {"user": result.id}, SYSTEM)
            shown["command_address"] = address.address
    print_json(shown)


@user.command("password")
@click.argument("email")
@async_command
async def user_password(email: str) -> None:
    """Set the password EMAIL logs in to the admin pages with, read from standard input
    (typed twice at a terminal; piped: the first line). Their other sessions end."""
    import sys

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    kith = load_kith()
    async with kith:
        if "user.set_password" not in kith.registry:
            fail(KithError("invalid_input", "The admin plugin is off: there is no log-in."))
        result = await kith.run("user.set_password", {"user": email, "password": password}, SYSTEM)
    click.echo(f"Password set for {result.email}; they log in at /admin/.")


@user.command("rotate-address")
@click.argument("email")
@async_command
async def user_rotate_address(email: str) -> None:
    """Give a user a new private command address (the old one stops working at once)."""
    kith = load_kith()
    async with kith:
        result = await kith.run("email.rotate_address", {"user": email}, SYSTEM)
    click.echo(f"New command address for {email}: {result.address}")


@user.command("link")
@click.argument("email")
@click.argument("slack_user_id")
@async_command
async def user_link(email: str, slack_user_id: str) -> None:
    """Link a user to their Slack account (SLACK_USER_ID like U024BE7LH, from their Slack
    profile: More → Copy member ID). Their /kith commands then run as them."""
    kith = load_kith()
    async with kith:
        user = await kith.run(
            "user.update", {"user": email, "slack_user_id": slack_user_id.upper()}, SYSTEM
        )
    click.echo(f"{user.name} ({user.email}) is Slack user {user.slack_user_id}.")


# ---- data: find, demo (core/search.py, core/demo.py) ------------------------------------------


@main.command("find")
@click.argument("text", nargs=-1, required=True)
@click.option("--as", "as_email", envvar="KITH_AS", help="Search as this user (their visibility).")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@async_command
async def find_command(
    text: tuple[str, ...], as_email: str | None, limit: int, as_json: bool
) -> None:
    """Find contacts, organizations, deals, leads, tickets (and plugins' records) by name,
    email, title or subject. Without --as, searches as the operator (everything)."""
    kith = load_kith()
    async with kith:
        actor = await actor_for(kith, as_email) if as_email else SYSTEM
        result = await kith.run("find", {"q": " ".join(text), "limit": limit}, actor)
    if as_json:
        print_json(result)
        return
    if not result.items:
        click.echo("Nothing found.")
        return
    for hit in result.items:
        detail = f"  {hit.detail}" if hit.detail else ""
        click.echo(f"{hit.entity:13} #{hit.id!s:<7} {hit.label}{detail}")


@main.command("demo")
@click.option("--seed", type=int, default=1842, show_default=True, help="Same seed, same data.")
@async_command
async def demo_command(seed: int) -> None:
    """Fill the database with a realistic demo data set (users Ana, Ben, Chloé, Dev; pipelines,
    organizations, contacts, deals, activities, tasks, tickets, custom fields, tags), made
    through commands. Refused if the demo is loaded already."""
    from .demo import DemoSize, load_demo

    kith = load_kith()
    size = DemoSize()
    async with kith:
        with click.progressbar(length=size.steps, label="Loading demo data") as bar:
            result = await load_demo(kith, seed=seed, size=size, progress=bar.update)
    total = sum(result.counts.values())
    click.echo(f"Done: {total} commands run.")
    for name, count in sorted(result.counts.items()):
        click.echo(f"  {name:22} {count}")
    click.echo(
        "Sign in as " + ", ".join(u.email or "" for k, u in result.users.items() if k != "admin")
    )
    click.echo(
        "Try: kith find lovelace   ·   kith call deal.list '{\"limit\": 5}' --as ben@kith.example"
    )


from .cli_jobs import jobs, worker  # noqa: E402  (they use the helpers above)

main.add_command(jobs)
main.add_command(worker)


@main.group()
def token() -> None:
    """Manage API tokens (REST API): create, list, revoke."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
@click.option("--expires", default=None, help="30d, 12h, 90m, a date (2027-01-31) or a datetime.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="read, write or a command pattern (contact.*); repeat it or separate with commas. "
    "Without a scope the token may do all the user's role allows.",
)
@async_command
async def token_create(email: str, name: str, expires: str | None, scopes: tuple[str, ...]) -> None:
    """Create an API token acting as the user EMAIL; prints the token once."""
    kith = load_kith()
    async with kith:
        result = await kith.run(
            "token.create",
            {"user": email, "name": name, "expires": expires, "scopes": ",".join(scopes)},
            SYSTEM,
        )
        await kith.drain()
    narrowed = f", scopes {', '.join(result.scopes)}" if result.scopes else ""
    until = f", expires {result.expires_at.isoformat()}" if result.expires_at else ""
    click.echo(f"Token #{result.id} for {result.user_email}{narrowed}{until}.", err=True)
    click.echo("It is shown only now; send it as 'Authorization: Bearer <token>'.", err=True)
    click.echo(result.token)


@token.command("list")
@click.argument("email", required=False)
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@async_command
async def token_list(email: str | None, include_revoked: bool) -> None:
    """List API tokens (of EMAIL, or everyone's)."""
    kith = load_kith()
    async with kith:
        result = await kith.run(
            "token.list", {"user": email, "include_revoked": include_revoked}, SYSTEM
        )
    now = kith.clock.now()
    for t in result.items:
        state = (
            "revoked"
            if t.revoked_at
            else "expired"
            if t.expires_at and t.expires_at <= now
            else "active"
        )
        until = t.expires_at.date().isoformat() if t.expires_at else "never"
        click.echo(
            f"#{t.id:<5} {t.prefix}…  {t.user_email:30} {state:8} expires {until:10} "
            f"scopes {','.join(t.scopes) or '(role)'}  {t.name}"
        )


@token.command("revoke")
@click.argument("token_id", type=int, metavar="ID")
@async_command
async def token_revoke(token_id: int) -> None:
    """Revoke the API token with this id (see kith token list)."""
    kith = load_kith()
    async with kith:
        result = await kith.run("token.revoke", {"token": token_id}, SYSTEM)
        await kith.drain()
    click.echo(f"Token #{result.id} of {result.user_email} is revoked.")


# ---- data in, out, clean and safe (kith import / export / duplicates / backup / restore) -----
from .dataio.cli import register as _register_dataio  # noqa: E402

_register_dataio(main)

from .automations.cli import automations  # noqa: E402 - the group needs the helpers above

main.add_command(automations)


@main.command("docs")
@click.option("--check", is_flag=True, help="Exit 1 if docs/hooks.md or docs/commands.md is stale.")
def docs(check: bool) -> None:
    """Write docs/hooks.md and docs/commands.md from the hookspecs and the commands."""
    from .docs_gen import main as docs_main

    sys.exit(docs_main(["--check"] if check else []))


@main.command("mcp")
@click.option("--as", "as_email", envvar="KITH_AS", help="Act as this user (or KITH_AS).")
@async_command
async def mcp_stdio(as_email: str | None) -> None:
    """Serve MCP over stdio for an AI client, acting as KITH_TOKEN's user (with the token's
    scopes) or as --as EMAIL (their role). See docs/mcp.md."""
    from kith.channels.mcp.stdio import serve_stdio, stdio_actor

    kith = load_kith()
    async with kith:
        actor = await stdio_actor(kith, os.environ.get("KITH_TOKEN"), as_email, actor_for)
        await serve_stdio(kith, actor)


@main.command("smtp")
@async_command
async def smtp() -> None:
    """Run only the email channel's SMTP server (KITH_SMTP_PORT, default 2525); jobs run
    elsewhere (`kith worker` or `kith run`)."""
    os.environ["KITH_SMTP_LISTEN"] = "1"
    kith = load_kith()
    async with kith:
        click.echo("Kith SMTP server running; Ctrl-C stops it.")
        await asyncio.Event().wait()


if __name__ == "__main__":
    main()
