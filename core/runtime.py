"""The composition root: settings, plugins, database, commands and events, wired once.

``Kith`` is what ``kith run``, the CLI, the tests and every channel hold. Its :meth:`run`
is the one way anything changes: parse → authorize → validate hooks → one transaction
{handler, history rows, outbox rows} → commit → dispatch events.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from . import idempotency
from .clock import Clock, SystemClock
from .commands import CommandRegistry, CommandSpec
from .context import Context, current_context
from .db.base import Database
from .db.factory import database_for
from .errors import KithError, from_validation_error
from .events import Dispatcher
from .jobs import JobRegistry, JobRunner
from .permissions import Actor
from .plugins_manager import Hooks, LoadedPlugin, load_plugin_manager, validate_plugin_settings
from .scheduler import Scheduler
from .settings import PluginsFile, Settings, load_plugins_file

log = logging.getLogger("kith")

# Errors of two transactions racing on PostgreSQL (SQLite runs one writer at a time): the
# command wrote nothing, and running it again sees what the other committed.
RACES = (
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
RACE_RETRIES = 2
CONFLICTS = (asyncpg.IntegrityConstraintViolationError, *RACES)  # a 409 once retries are spent

_current_kith: Kith | None = None


def current() -> Kith:
    """The running :class:`Kith` of this process (set by :meth:`Kith.start`)."""
    if _current_kith is None:
        raise RuntimeError("Kith is not started in this process")
    return _current_kith


class Kith:
    """One Kith application: plugins loaded, database open, commands registered."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        plugins_file: PluginsFile | None = None,
        extra_plugins: Iterable[tuple[str, object]] = (),
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.clock: Clock = clock or SystemClock()
        self.plugins_file = plugins_file or load_plugins_file(self.settings.plugins_file)
        self.instance_id = uuid.uuid4().hex[:16]
        pm, self.plugins = load_plugin_manager(
            self.plugins_file,
            extra_plugins,
            trace=self.settings.trace_plugins,
            entry_points_too=self.settings.load_entry_points,
        )
        self.pm = pm
        self.hooks = Hooks(pm, self)
        self._plugin_settings = validate_plugin_settings(
            self.hooks.settings_models(), self.plugins_file, [p.name for p in self.plugins]
        )
        self.registry = CommandRegistry()
        for plugin, spec in self.hooks.commands():
            self.registry.add(spec, plugin)
        self.job_registry = JobRegistry()
        for plugin, job_spec in self.hooks.jobs():
            self.job_registry.add(job_spec, plugin)
        self.db: Database = database_for(
            self.settings.database_url,
            sqlite_readers=self.settings.sqlite_readers,
            pg_pool_max=self.settings.pg_pool_max,
        )
        self.dispatcher = Dispatcher(self)
        self.jobs = JobRunner(self)
        self.scheduler = Scheduler(self)
        self._transport: Any = None
        self.started = False

    # ---- lifecycle -----------------------------------------------------------------------------
    async def start(self, *, dispatch_in_background: bool = True, run_jobs: bool = False) -> Kith:
        """Open the database and start delivering events; with ``run_jobs`` also take part
        in running jobs: without a broker, run due jobs in this process (the embedded runner
        of ``kith run``); with ``KITH_BROKER_URL``, be a candidate scheduler leader that sends
        due job ids to the ``kith worker`` processes (docs/operations.md)."""
        global _current_kith
        if run_jobs and self.settings.broker_url:
            from .broker import JobTransport, require_postgres

            require_postgres(self.settings.database_url, "KITH_BROKER_URL")
            transport = JobTransport(self.settings.broker_url, self.settings.broker_queue)
        await self.db.open()
        if dispatch_in_background:
            self.dispatcher.start()
        if run_jobs:
            if self.settings.broker_url:
                self._transport = transport
                self.scheduler.start(transport)
            else:
                self.jobs.start()
        _current_kith = self
        await self.hooks.startup(self)
        self.started = True
        return self

    async def stop(self) -> None:
        global _current_kith
        if not self.started:
            await self.scheduler.resign()
            await self.db.close()
            return
        self.started = False
        await self.jobs.stop()
        await self.scheduler.stop()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        await self.dispatcher.stop()
        await self.hooks.shutdown(self)
        await self.db.close()
        if _current_kith is self:
            _current_kith = None

    async def __aenter__(self) -> Kith:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def drain(self) -> None:
        """Wait until every event emitted so far was delivered to the plugins."""
        await self.dispatcher.drain()

    def plugin_settings(self, plugin: str) -> Any:
        """The validated ``plugins.toml`` settings of ``plugin`` (its settings model)."""
        try:
            return self._plugin_settings[plugin]
        except KeyError:
            raise KithError("unknown_plugin", f"Plugin {plugin!r} has no settings model") from None

    def plugin(self, name: str) -> LoadedPlugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    # ---- commands ------------------------------------------------------------------------------
    def _parse(self, spec: CommandSpec, payload: dict[str, Any] | BaseModel | None) -> BaseModel:
        if isinstance(payload, spec.input):
            return payload
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(exclude_unset=True)
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise KithError(
                "invalid_input",
                f"{spec.name} takes a JSON object of fields, not {type(payload).__name__}",
                command=spec.name,
            )
        try:
            return spec.input.model_validate(payload)
        except ValidationError as exc:
            err = from_validation_error(exc)
            err.command = spec.name
            raise err from None

    def _output(self, spec: CommandSpec, result: Any) -> Any:
        if spec.output is not None and isinstance(result, dict):
            return spec.output.model_validate(result)
        return result

    async def run(
        self,
        name: str,
        payload: dict[str, Any] | BaseModel | None,
        actor: Actor,
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        """Run command ``name`` with ``payload`` as ``actor``; returns its result model.

        Raises :class:`KithError` on bad input, a refused permission (the actor's role, or the
        scopes of its API token), a plugin's veto or a conflict; in every such case nothing
        was written. With ``idempotency_key`` (channels that retry), a write command run again
        with the same key and payload returns the first run's result and writes nothing (see
        :mod:`kith.idempotency`).
        """
        outer = current_context.get()
        if outer is not None and outer.kith is self:
            return await self._run_nested(outer, name, payload)
        spec = self.registry.get(name)
        for attempt in range(RACE_RETRIES + 1):
            try:
                data = self._parse(spec, payload)
                actor.require(spec.permission, name)
                actor.require_scope(name, spec.read_only)
                data = await self.hooks.validate(name, data, actor)
                if spec.read_only:
                    ctx = Context(self, actor, spec, tx=None)
                    token = current_context.set(ctx)
                    try:
                        return self._output(spec, await spec.handler(ctx, data))
                    finally:
                        current_context.reset(token)
                async with self.db.transaction() as tx:
                    claim = None
                    if idempotency_key is not None:
                        claim = await idempotency.claim(
                            tx, self.db.statements, idempotency_key, name, payload, self.clock.now()
                        )
                        if claim.replayed:
                            return self._output(spec, claim.replay)
                    ctx = Context(self, actor, spec, tx)
                    token = current_context.set(ctx)
                    try:
                        result = self._output(spec, await spec.handler(ctx, data))
                        if claim is not None:
                            idempotency.remember(tx, self.db.statements, claim, result)
                        ctx.flush()
                    finally:
                        current_context.reset(token)
            except KithError as err:
                err.command = err.command or name
                raise
            except (OverflowError, asyncpg.DataError) as exc:
                # a number no column can hold (found by fuzzing the API): bad input, not a bug
                raise KithError(
                    "invalid_input", f"{name}: a number in the input is out of range.", command=name
                ) from exc
            except (sqlite3.IntegrityError, asyncpg.PostgresError) as exc:
                # Two commands raced (both created the organization of a new domain, say):
                # nothing was written, so run again; the second run sees the first's row.
                if isinstance(exc, RACES) and attempt < RACE_RETRIES:
                    log.info("%s raced another command (%s); running it again", name, exc)
                    await asyncio.sleep(0.002 * (attempt + 1))
                    continue
                if not isinstance(exc, (sqlite3.IntegrityError, *CONFLICTS)):
                    raise
                raise KithError(
                    "conflict",
                    f"{name} conflicts with existing data: {exc}",
                    status=409,
                    command=name,
                ) from exc
            break
        if ctx.events:
            self.dispatcher.submit(ctx.events)
        if ctx.jobs_scheduled:
            self.jobs.wake()
        return result

    async def _run_nested(
        self,
        parent: Context,
        name: str,
        payload: dict[str, Any] | BaseModel | None,
        actor: Actor | None = None,
    ) -> Any:
        """A command called by another command: same transaction, same outbox, and the same
        actor unless the (system) caller acts for someone (``Context.run_as``)."""
        spec = self.registry.get(name)
        data = self._parse(spec, payload)
        actor = actor or parent.actor
        actor.require(spec.permission, name)
        data = await self.hooks.validate(name, data, actor)
        if not spec.read_only and parent.tx is None:
            raise KithError(
                "invalid_command", f"Read-only {parent.command} cannot run {name}", status=500
            )
        ctx = Context(self, actor, spec, parent.tx, parent)
        token = current_context.set(ctx)
        try:
            return self._output(spec, await spec.handler(ctx, data))
        finally:
            current_context.reset(token)
