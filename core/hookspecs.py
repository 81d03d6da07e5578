"""Every hook a Kith plugin can implement: the plugin contract.

Read this file top to bottom to learn the whole extension surface. Implement a hook by
defining a function of the same name decorated with ``@kith.hookimpl`` in your plugin module,
and accept only the arguments you need (pluggy passes the ones you name).

Calling conventions used below:

* **each**: Kith calls every plugin's implementation separately, so one plugin raising does
  not stop the others; the error is logged with the plugin's name.
* **sync**: the implementation must be a plain function.
* **async allowed**: the implementation may be ``async def``; Kith awaits the result.
* **firstresult**: the first non-``None`` result wins and the rest are not called.

``docs/hooks.md`` is generated from these docstrings (``kith docs``), and a test fails when a
hook lacks a docstring or the page is stale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from random import Random

    from pydantic import BaseModel

    from .commands import CommandSpec
    from .context import Context
    from .events import Event
    from .jobs import JobSpec
    from .permissions import Actor
    from .runtime import Kith
    from .search import SearchSource
    from .timeline import TimelinePosition

PROJECT = "kith"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------
# Setup: settings, start and stop
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_settings_model() -> type[BaseModel] | None:
    """Declare the settings your plugin reads from ``plugins.toml``.

    Called once at start-up, for each plugin separately (**each**, **sync**).

    :return: a pydantic model class. The keys under ``[plugins.<your name>]`` in
        ``plugins.toml`` (other than ``enabled``) are validated against it; a bad value stops
        Kith at start with an error naming the plugin, the key and the reason. Read the
        validated settings with ``kith.plugin_settings("<your name>")`` or
        ``ctx.plugin_settings("<your name>")``. Return ``None`` (or don't implement the hook)
        when the plugin has no settings.
    """


@hookspec
async def kith_startup(kith: Kith) -> None:
    """Kith has opened its database and registered every command; the process is starting.

    Called once per process (**each**, **async allowed**), after the plugin manager is
    loaded and before any command runs from a channel. Use it to open clients your plugin
    needs. Raising stops the start with the plugin's name in the error.

    :param kith: the running application (``kith.run``, ``kith.db``, ``kith.clock``...).
    """


@hookspec
async def kith_shutdown(kith: Kith) -> None:
    """The process is stopping, after pending events were delivered.

    Called once per process (**each**, **async allowed**). Close what ``kith_startup``
    opened. Errors are logged, never raised.

    :param kith: the running application.
    """


@hookspec
async def kith_init(kith: Kith) -> None:
    """Set up the data your plugin needs in a new installation (default records).

    Called by ``kith init`` after the migrations ran and before the first admin is created
    (**each**, **async allowed**), with Kith started on the migrated database. ``kith init``
    may run again on an installation that is already set up, so make it **idempotent**:
    create what is missing, never duplicate or overwrite what exists (a person may have
    renamed or changed it). Write through commands (``await kith.run(name, payload,
    kith_actor)`` with ``kith.SYSTEM``) so history and events are recorded. Raising stops
    ``kith init`` with the plugin's name in the error.

    :param kith: the running application.
    """


# ---------------------------------------------------------------------------------------------
# Data: tables
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_tables() -> list[str]:
    """Name the piccolo apps that hold your plugin's tables and migrations.

    Called by ``kith migrate`` and ``kith init`` (**sync**); results of all plugins are
    concatenated, core first. Each entry is the dotted path of a module that defines
    ``APP_CONFIG = piccolo.conf.apps.AppConfig(...)`` with your ``table_classes`` and a
    ``migrations_folder_path`` inside your package; give it
    ``migration_dependencies=["kith.piccolo_app"]`` so the core's tables exist first.

    :return: a list of module paths, e.g. ``["kith_renewals.piccolo_app"]``.
    """


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_commands() -> list[CommandSpec]:
    """Register your commands.

    Called once at start-up (**each**, **sync**). Build commands with ``@kith.command``;
    ``kith.commands_in(module)`` collects every command of a module. A name registered by two
    plugins stops the start with both plugins named.

    :return: a list of :class:`kith.CommandSpec`.
    """


@hookspec
async def kith_validate(command: str, data: BaseModel, actor: Actor) -> BaseModel | None:
    """Veto or enrich a command's input before it runs.

    Called for every command after its input parsed and its permission was checked, and
    before its transaction starts (**each**, in plugin load order, **async allowed**). Each
    implementation sees the data as left by the previous one.

    :param command: the command's name, e.g. ``"deal.move"``.
    :param data: the parsed input model.
    :param actor: who runs it.
    :return: ``None`` to accept the input as it is, or a replacement model of the same class
        to enrich it. Raise ``kith.KithError`` (e.g. ``kith.invalid("stage", "...")``) to
        refuse; nothing is written and the person sees your message.
    """


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


@hookspec
async def kith_on_event(event: Event, kith: Kith) -> None:
    """React to something that happened.

    Called after the command that emitted ``event`` committed (**each**, **async allowed**),
    in outbox order, once per implementation: one plugin failing does not keep the event from
    the others, and never fails the command. If your implementation raises, Kith delivers the
    event to it alone again later through a ``kith.redeliver`` job (retried with backoff,
    then dead and visible in ``kith jobs``); that redelivery runs inside the job's
    transaction, so commands you run there commit with it. Events a crashed process left
    undelivered are relayed to every implementation. Delivery is at least once: make your
    handler idempotent on ``event.id``.
    Changes you make go through commands (``await kith.run(...)``), in their own transaction.
    Do slow or external work (mail, webhooks, Slack posts) in a scheduled job instead of here.

    :param event: ``event.name`` (``"contact.created"``), ``event.entity``,
        ``event.entity_id``, ``event.actor``, ``event.at`` and ``event.data``; for
        ``*.updated`` events ``event.data["changes"]`` maps each field to ``[before, after]``.
    :param kith: the running application.
    """


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_jobs() -> list[JobSpec]:
    """Register the kinds of job your plugin schedules.

    Called once at start-up (**each**, **sync**). Build job kinds with ``@kith.job(name,
    max_attempts=5)`` on ``async def handler(ctx, payload)``; schedule them from a command or
    an event handler's command with ``await ctx.schedule(name, payload, at=..., key=...)`` and
    cancel with ``await ctx.cancel(key)``. A handler runs in a transaction as the actor
    ``job:<name>`` (role system): its writes commit together with the job's "done" mark, so
    they happen once. Raise to be retried with exponential backoff; after the last attempt the
    job is dead (visible with its error, and retryable). External effects (mail, webhooks,
    Slack) are at least once: send the job id (``ctx.job["id"]``) as an idempotency key.

    ``@kith.job(name, cron="0 2 * * *", timezone="UTC")`` declares a recurring job: Kith keeps
    its next occurrence stored as a job keyed ``cron:<name>:<ISO time>`` and runs each
    occurrence once (payload ``{"scheduled_for": "<ISO time>"}``), also with several
    schedulers; occurrences missed while Kith was down run once, late, not once each.
    ``lease=timedelta(...)`` sets how long a runner holds the job before another may take it
    over (a heartbeat renews it while the handler runs).

    :return: a list of :class:`kith.JobSpec`. A name registered by two plugins stops the start.
    """


# ---------------------------------------------------------------------------------------------
# Data: search, timelines, demo data
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_search_sources() -> list[SearchSource]:
    """Make your plugin's records findable with ``find`` (and ``kith find``, Slack's
    ``/kith find``...).

    Called on every ``find`` (**each**, **sync**; return a constant list). The core searches
    contacts, organizations, deals, leads and tickets itself.

    :return: a list of :class:`kith.SearchSource`. Declarative sources name a piccolo
        ``table``, the text ``columns`` to match (every word typed must appear in one of them,
        case-insensitive), the ``label`` column shown (and an optional ``detail``) and the
        permission ``area`` whose ``read`` level an actor needs (default ``<entity>s``);
        archived rows are skipped, and when ``visibility.<entity>`` is a known setting and
        the table has that entity's owner column, visibility applies. Or set ``search`` to
        ``async def search(ctx, query, limit)`` returning
        ``[{"id", "label", "detail", "score"}]`` (``query.terms`` are the lower-cased words,
        ``query.fts5`` / ``query.tsquery`` ready-made full-text expressions) and apply
        visibility yourself from ``ctx.actor``. A failing source is logged and skipped.
    """


@hookspec
async def kith_timeline_items(
    ctx: Context, entity: str, record_id: int, before: TimelinePosition | None, limit: int
) -> list[dict[str, Any]]:
    """Add your items to a record's timeline (``<entity>.timeline``).

    Called for every timeline page (**each**, **async allowed**), after the record was found
    and the actor's visibility checked. Timelines are ordered newest first by
    ``(at, kind, id)``.

    :param ctx: the read-only context of the query (``ctx.actor``, ``ctx.fetch``...).
    :param entity: the record's entity, e.g. ``"deal"``.
    :param record_id: its id.
    :param before: ``None`` for the first page, else where the previous page ended
        (``before.at``, ``before.kind``, ``before.id``): return only items that sort
        strictly before it.
    :param limit: return at most this many items (more are ignored).
    :return: a list of dicts, newest first: ``at`` (an aware datetime), ``kind`` (your kind,
        e.g. ``"email"``), ``id`` (int or str, unique within your kind), ``summary`` (one
        line), and optional ``actor``, ``user_id`` and ``data`` (a JSON-able dict). Return
        ``[]`` for entities you know nothing about. A failing implementation is logged and
        the timeline is shown without its items.
    """


@hookspec
async def kith_demo_data(kith: Kith, users: dict[str, Actor], rng: Random) -> None:
    """Add your plugin's part of the demo data set (``kith demo``).

    Called once by ``kith demo`` after the core's records exist (**each**, **async
    allowed**). Create records through commands (``await kith.run(name, payload, actor)``)
    so they carry history and events like real ones.

    :param kith: the running application.
    :param users: the demo team as actors: ``admin``, ``ana`` (sales rep), ``ben`` (sales
        manager), ``chloe`` (support agent), ``dev`` (ops).
    :param rng: a seeded ``random.Random``: use it (not ``random``) so the demo is the same
        every time.
    """
