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

    from .automations.actions import ActionSpec
    from .automations.triggers import TriggerSpec
    from .commands import CommandSpec
    from .context import Context
    from .dashboards import DashboardWidget
    from .dataio.merge_refs import MergeReference
    from .events import Event
    from .jobs import JobSpec
    from .permissions import Actor
    from .runtime import Kith
    from .search import SearchSource
    from .timeline import TimelinePosition
    from .verbs import Verb

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


# ---------------------------------------------------------------------------------------------
# Channels: HTTP routes
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_routes(kith: Kith) -> list[Any]:
    """Add HTTP routes to the web app served by ``kith run``.

    Called once when the web app is built by ``kith.web.create_app`` (**each**, **sync**),
    after every command is registered and before Kith has started (do not touch the database
    here; do it in your handlers, at request time). The built-in REST API channel
    (``kith.channels.api``, listed in the bundled plugins as ``api``) mounts ``/api/v1`` this
    way, exactly as a third-party plugin mounts its own pages or webhooks.

    Handlers change data only through commands (``await kith.run(name, payload, actor)``),
    so validation, permissions, history and events stay in one place. Give your routes your
    own path prefix (``/plugins/<your name>/…``); a path taken twice stops the start.

    :param kith: the application (``kith.registry`` lists the commands, ``kith.run`` runs
        one, ``kith.plugin_settings(name)`` reads settings).
    :return: a list of litestar route handlers, controllers or routers (each may carry its
        own guards, middleware, exception handlers and request body limit).
    """


# ---------------------------------------------------------------------------------------------
# Data: merging records
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_merge_references(entity: str) -> list[MergeReference] | None:
    """Name the columns of your tables that point at records of ``entity``, so that a merge
    moves your rows from the loser to the survivor, and an undo moves them back.

    Called by ``contact.merge``, ``organization.merge`` and ``deal.merge`` and by their
    ``unmerge`` commands, inside the command's transaction (**each**, **sync**); the lists of
    all plugins are concatenated after the core's own (activities, deals, tickets, leads,
    tasks, tags, external ids…). A merge updates the rows whose ``column`` holds the loser's
    id, in one statement per reference, without history rows of their own: the merge records
    one history entry on each side. It remembers which rows it moved; an undo within 30 days
    moves back those that still point at the survivor and reports the others as conflicts.

    :param entity: ``"contact"``, ``"organization"`` or ``"deal"``.
    :return: a list of :class:`kith.MergeReference`, e.g.
        ``[kith.MergeReference(Enrolment, "contact_id")]``; for a column that can point at
        several kinds of record, name the column holding the kind:
        ``kith.MergeReference(Note, "record_id", entity_column="record_type")`` (rows where it
        equals ``entity``). When your table has a unique key that includes the column (one
        consent per contact and purpose), give the other columns of the key in
        ``unique_with=("purpose",)``: rows whose twin already points at the survivor stay
        with the loser (they are reported as kept) instead of breaking the key. Return
        ``None`` or ``[]`` when none of your tables points at ``entity``.
    """


# ---------------------------------------------------------------------------------------------
# Automations
# ---------------------------------------------------------------------------------------------


@hookspec
async def kith_erase_contact(ctx: Context, contact_id: int, addresses: list[str]) -> None:
    """Scrub what your plugin holds that identifies a person being erased (``contact.erase``,
    GDPR art. 17): names, addresses, message text and payloads about them.

    Called inside the erasing command's transaction (**each**, **async allowed**), after the
    core scrubbed the contact, its addresses, activities and history: write through ``ctx``
    so everything commits or nothing does. Keep ids, dates, counts and amounts (reports
    still add up); replace text with ``"(erased)"``. Raising refuses the whole erasure.

    :param ctx: the command's context (``ctx.select``, ``ctx.update``, ``ctx.fetch``...).
    :param contact_id: the contact being erased (now a tombstone).
    :param addresses: every email address the contact had, lower-case.
    """


@hookspec
def kith_automation_actions() -> list[ActionSpec]:
    """Offer actions that automations can use (``then:`` steps).

    Called once per process, when the automations engine starts (**each**, **sync**).
    Build actions with ``@kith.automation_action(name, config=Model, emits=[...],
    entities=[...], commands=[...])`` on ``async def action(actx, config)``; its docstring
    is its description. ``actx`` is a :class:`kith.ActionContext`: ``actx.record`` (the
    record, with references by name and money in major units), ``actx.entity``,
    ``actx.record_id``, ``actx.event``, ``await actx.command(name, payload)`` (runs a
    command in the run's transaction as the automation, so loops are tracked),
    ``await actx.user_id("owner" | "manager" | ref)``, ``actx.when("+2 business days")``,
    ``actx.emit(...)`` and ``await actx.schedule(...)`` for slow or external work. Template
    strings in the settings are rendered (jinja2 sandbox) before ``config`` is validated.
    Raise ``kith.KithError`` to refuse: the run logs the reason and stops, and nothing the
    action wrote is kept. Return a small dict for the run log (``{"task": 12}``).

    A plugin may replace a core action by returning one with the same name (core actions
    are ``trylast``). Two plugins offering the same name stop the start.

    :return: a list of :class:`kith.ActionSpec`.
    """


@hookspec
def kith_events() -> list[TriggerSpec]:
    """Declare every event your plugin emits: the event catalog.

    Called whenever the catalog is read (**each**, **sync**). The catalog is what
    ``docs/events.md`` lists, what webhook subscriptions (``webhook.create``) may name and
    what automations may start from (``when:``): a name nobody declared is refused there as
    a typo. The core declares its own events and those of every generic command
    (``<entity>.created|updated|archived|restored``); declare the rest, including names you
    build at run time (``calendar.holiday_added``). A test of Kith's own suite fails when
    the code emits a literal name that no plugin declares.

    :return: a list of :class:`kith.EventSpec` ``(event, entity, description)``; ``entity``
        names the entity whose record the event's ``entity_id`` points at, or ``None``.
    """


@hookspec
def kith_automation_triggers() -> list[TriggerSpec]:
    """Declare events automations may start from (older name of :func:`kith_events`, which
    you should use; both are read).

    Called whenever a definition is checked (**each**, **sync**): an automation whose
    ``when:`` names an event nobody declared is refused as a typo. The core declares the
    events of the generic commands (``<entity>.created|updated|archived|restored``),
    ``activity.logged``, ``task.completed`` and the pillars' events on core records
    (``deal.stage_changed``, ``deal.won``, ``deal.lost``, ``ticket.sla_breached``).

    :return: a list of :class:`kith.TriggerSpec` ``(event, entity, description)``; ``entity``
        names the entity whose record the event's ``entity_id`` points at (conditions read
        that record), or ``None``.
    """


# ---------------------------------------------------------------------------------------------
# Chat verbs
# ---------------------------------------------------------------------------------------------


@hookspec
def kith_verbs() -> list[Verb]:
    """Add verbs to the chat grammar shared by Slack (``/kith <verb> …``) and commands sent
    by email.

    Called when a channel builds its verb table (**each**, **sync**). A verb is a
    :class:`kith.Verb` ``(name, usage, summary, parse, examples)``: ``parse(words, context)``
    receives the words after the verb's name (split shell-style, so ``"Acme renewal"`` is
    one word) and a :class:`kith.VerbContext` (``now``, the user's ``time_zone``), and
    returns a :class:`kith.Invocation` ``(command, payload)`` — a verb never writes anything
    itself; the channel runs the command as the person who typed the line, with their role.
    Raise ``kith.verb_error(verb, part, reason)`` for a line that is not enough: the person
    sees the part, the reason and the verb's usage. A plugin verb with the name of a core
    verb replaces it (``help`` lists the result); ``kith.parse_when(text, now, tz)`` reads
    "tomorrow 9am", "fri", "in 3 days".

    :return: a list of :class:`kith.Verb`.
    """


# ---------------------------------------------------------------------------------------------
# Channels: inbound email
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def kith_inbound_email(address: str, local: str, domain: str) -> Any:
    """Name the handler of mail sent to ``address`` (one of our domain's addresses).

    Called by the email channel for each recipient of each parsed inbound message
    (**firstresult**, **sync**): only name the handler here, do the work in it. The channel
    answers ``support@`` itself (``trylast``), so a plugin may take over any address.

    :param address: the recipient, lower-case (``"leads@example.com"``).
    :param local: its local part (``"leads"``); ``domain``: its domain.
    :return: ``async def handler(ctx, message) -> dict`` or ``None`` when the address is not
        yours. ``ctx`` is the parse job's context (run commands with ``ctx.run``);
        ``message`` holds ``subject``, ``sender``, ``cc``, ``text``, ``body`` (quoted history
        trimmed), ``html``, ``attachments``, ``flags``, ``message_id``, ``in_reply_to``,
        ``references``, ``recipient`` and ``row`` (the stored message's id). Return a small
        dict of what you did; raise to have the job retried.
    """


@hookspec
def kith_dashboard_widgets() -> list[DashboardWidget]:
    """Add charts to the admin dashboards page (``/admin/dashboards``).

    Return :class:`kith.DashboardWidget` objects (**each**, sync). A widget's ``load(kith,
    actor, filters)`` is awaited when someone opens the page: run commands as ``actor`` (so
    roles and visibility apply), honour ``filters`` (:class:`kith.DashboardFilters`: the
    last ``days``, ``team_id``, ``owner_id``) where they make sense, and return a list of
    :class:`kith.Bar` (label, value, text). The page draws them as SVG; a widget that fails
    shows its error in its box and the rest of the page still renders.

    Example::

        @kith.hookimpl
        def kith_dashboard_widgets():
            async def renewals_due(kith, actor, filters):
                page = await kith.run("deal.list", {"filter": {...}, "limit": 200}, actor)
                return [kith.Bar("due", len(page.items), str(len(page.items)))]
            return [kith.DashboardWidget("renewals.due", "Renewals due", renewals_due,
                                         kind="number")]
    """
