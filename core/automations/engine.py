"""The engine: from a committed event to a run, with loops and floods stopped.

It listens on the event bus (``kith_on_event``). For each enabled automation whose trigger
the event matches, it evaluates the conditions against committed data; a match becomes a
run row plus a job that performs it (:mod:`.runner`), written in one transaction. Runs are
keyed by (automation, event id), so an event delivered twice starts one run.

Loop protection: actions run as the actor ``automation:<id>:<run>:<depth>``; an event caused
by a run carries that label, so the runs it starts are one level deeper, and past
``max_depth`` they are stopped and logged. A per-record cap limits how often one automation
runs on one record in an hour.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..context import Context
from ..errors import KithError
from ..events import Event
from ..permissions import Actor
from . import store
from .actions import ActionRegistry
from .conditions import Env, evaluate, trace_of
from .fields import Loader, ReferenceCache
from .model import Definition, parse_definition
from .reader import reader_for
from .tables import AutomationMatch

if TYPE_CHECKING:
    from ..runtime import Kith

log = logging.getLogger("kith.automations")

RUN_JOB = "automations.run"
MATCH_JOB = "automations.match"
TICK_JOB = "automations.tick"
SCAN_JOB = "automations.scan"
ACTOR_LABEL = re.compile(r"^automation:(\d+):(\d+):(\d+)$")
DEFINITION_EVENTS = frozenset(
    {
        "automation.created",
        "automation.updated",
        "automation.enabled",
        "automation.disabled",
        "automation.archived",
    }
)
RELOAD_EVERY_S = 5.0
MATCHES_TTL_S = 60.0


class AutomationSettings(BaseModel):
    """``[plugins.automations]`` in plugins.toml."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(3, ge=1, le=20, description="How deep automations may trigger others")
    runs_per_record_per_hour: int = Field(
        10, ge=1, le=10_000, description="Runs of one automation on one record per hour"
    )
    records_per_tick: int = Field(5000, ge=1, le=1_000_000)


def automation_actor(automation_id: int, name: str, run_id: int, depth: int) -> Actor:
    return Actor(
        user_id=None,
        role="system",
        name=f"automation '{name}'",
        via=f"automation:{automation_id}:{run_id}:{depth}",
    )


def chain_of(actor_label: str) -> tuple[int, int, int] | None:
    """``(automation id, run id, depth)`` of an event caused by an automation's run."""
    m = ACTOR_LABEL.match(actor_label or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


@dataclass
class Active:
    id: int
    name: str
    version: int
    version_id: int
    definition: Definition


@dataclass
class Plan:
    """What the engine decided for one automation and one trigger."""

    active: Active
    matched: bool
    steps: list[Any]  # the leaves evaluated, with their values (see ``trace``)
    status: str  # start | stopped_loop | rate_limited | no_match
    depth: int
    entity: str | None
    record_id: int | None
    trigger: dict[str, Any]
    trigger_key: str
    error: str | None = None
    log_skip: bool = True

    @property
    def trace(self) -> list[dict[str, Any]]:
        """The conditions evaluated, with expected and actual values, for the run log."""
        return trace_of(self.steps)


class Engine:
    """One per :class:`Kith`: its action registry, the enabled automations, the caches."""

    def __init__(self, kith: Kith) -> None:
        self.kith = kith
        self.actions = ActionRegistry()
        for plugin, spec in kith.hooks.automation_actions():
            self.actions.add(spec, plugin)
        self._active: list[Active] | None = None
        self._by_event: dict[str, list[Active]] = {}
        self._by_entity: dict[str, list[Active]] = {}
        self._loaded_at = 0.0
        self._versions: dict[int, Definition] = {}
        self.references = ReferenceCache()
        self.fetch, self.close = reader_for(kith)
        # (automation, entity, record) of the "matches for" timers running, so events need
        # not ask the database; refreshed with the definitions and at least every minute.
        self._matches: set[tuple[int, str, int]] = set()
        self._matches_loaded_at = 0.0

    @property
    def settings(self) -> AutomationSettings:
        try:
            return self.kith.plugin_settings("automations")  # type: ignore[no-any-return]
        except KithError:
            return AutomationSettings()

    # ---- definitions -------------------------------------------------------------------------
    def parse(self, raw: Any, *, actor: Actor | None = None, custom_defs: Any = None) -> Definition:
        return parse_definition(raw, self.kith, self.actions, actor=actor, custom_defs=custom_defs)

    def version(self, version_id: int, raw: dict[str, Any]) -> Definition:
        """The parsed definition of a saved version (versions never change: cached)."""
        cached = self._versions.get(version_id)
        if cached is None:
            cached = self._versions[version_id] = self.parse(raw)
        return cached

    def cached_version(self, version_id: int) -> Definition | None:
        return self._versions.get(version_id)

    def invalidate(self) -> None:
        self._active = None
        self._matches_loaded_at = 0.0

    async def active(self) -> list[Active]:
        if self._active is None or time.monotonic() - self._loaded_at > RELOAD_EVERY_S:
            await self._load()
        return self._active or []

    async def _load(self) -> None:
        active: list[Active] = []
        for row in await store.active_automations(self.kith):
            try:
                definition = self.version(row["version_id"], row["definition"])
            except KithError as err:
                log.error("automation %s (#%s) cannot load: %s", row["name"], row["id"], err)
                continue
            active.append(
                Active(row["id"], row["name"], row["version"], row["version_id"], definition)
            )
        by_event: dict[str, list[Active]] = {}
        by_entity: dict[str, list[Active]] = {}
        for a in active:
            trigger = a.definition.trigger
            if trigger.kind == "event" and trigger.event:
                by_event.setdefault(trigger.event, []).append(a)
            elif trigger.kind == "matches_for" and trigger.entity:
                by_entity.setdefault(trigger.entity, []).append(a)
        stale = self._active is None or time.monotonic() - self._matches_loaded_at > MATCHES_TTL_S
        self._active, self._by_event, self._by_entity = active, by_event, by_entity
        self._loaded_at = time.monotonic()
        if by_entity and stale:
            self._matches = await store.match_keys(self.kith)
            self._matches_loaded_at = self._loaded_at

    # ---- the event bus -----------------------------------------------------------------------
    async def on_event(self, event: Event) -> None:
        if event.name in DEFINITION_EVENTS:
            self.invalidate()
            return
        self.references.evict(event.entity, event.entity_id)
        if self._active is None or time.monotonic() - self._loaded_at > RELOAD_EVERY_S:
            await self._load()
        candidates = self._by_event.get(event.name)
        watchers = self._by_entity.get(event.entity or "") if event.entity_id else None
        if not candidates and not watchers:
            return
        loader = Loader(self.fetch, self.kith.db.statements, self.references)
        data = event.as_dict()
        chain = chain_of(event.actor)
        depth = chain[2] + 1 if chain else 1
        plans: list[Plan] = []
        timers: list[Any] = []
        failed: Exception | None = None
        # One automation failing to evaluate must not cost the others their runs; the
        # failure is raised afterwards, so the event bus reports it (runs are keyed by event:
        # delivering the event again does not start the others twice).
        for active in candidates or ():
            try:
                plan = await self.plan(active, data, loader, depth=depth)
            except Exception as exc:
                log.exception("automation %s (#%s) failed on %s", active.name, active.id, event.id)
                failed = failed or exc
                continue
            if plan.status != "no_match" and plan.log_skip:
                plans.append(plan)
        for active in watchers or ():
            try:
                timer = await self._watch(active, event, loader)
            except Exception as exc:
                log.exception("automation %s (#%s) failed on %s", active.name, active.id, event.id)
                failed = failed or exc
                continue
            if timer is not None:
                timers.append(timer)
        if plans or timers:
            async with store.engine_transaction(self.kith) as ctx:
                for plan in plans:
                    await self.start(ctx, plan)
                for timer in timers:
                    await timer(ctx)
        if failed is not None:
            raise failed

    async def plan(
        self,
        active: Active,
        event: dict[str, Any] | None,
        loader: Loader,
        *,
        entity: str | None = None,
        record_id: int | None = None,
        trigger: dict[str, Any] | None = None,
        trigger_key: str | None = None,
        depth: int | None = None,
    ) -> Plan:
        """Evaluate ``active`` for one trigger: the same decision for a real run and a dry
        run (conditions with their values, loop depth, rate cap)."""
        definition = active.definition
        if event is not None:
            if depth is None:
                chain = chain_of(event.get("actor") or "")
                depth = chain[2] + 1 if chain else 1
            entity = entity or definition.entity
            if record_id is None and event.get("entity") == entity:
                record_id = event.get("entity_id")
            trigger = trigger or {"kind": "event", "event": event}
            trigger_key = trigger_key or f"event:{event['id']}"
        depth = depth or 1
        entity = entity or definition.entity
        plan = Plan(
            active,
            False,
            [],
            "no_match",
            depth,
            entity,
            record_id,
            trigger or {},
            trigger_key or "",
        )
        row = None
        if entity and record_id is not None and definition.reads_record:
            row = await loader.row(entity, record_id)
        env = Env(loader, entity, row, event, self.kith.clock.now(), definition.tz)
        plan.matched = await evaluate(definition.condition, env)
        plan.steps = env.steps
        if not plan.matched:
            return plan
        if depth > self.settings.max_depth:
            plan.status = "stopped_loop"
            plan.error = (
                f"stopped: this run would be {depth} automations deep (max_depth "
                f"{self.settings.max_depth}); the event came from {event and event.get('actor')}"
            )
            return plan
        if record_id is not None:
            cap = self.settings.runs_per_record_per_hour
            since = self.kith.clock.now() - timedelta(hours=1)
            recent = await store.recent_runs(
                self.kith, self.fetch, active.id, int(record_id), since, cap + 1
            )
            counted = [r for r in recent if r["status"] not in ("rate_limited", "stopped_loop")]
            if len(counted) >= cap:
                plan.status = "rate_limited"
                plan.error = f"skipped: already {len(counted)} runs on this record in the last hour"
                plan.log_skip = not recent or recent[0]["status"] != "rate_limited"
                return plan
        plan.status = "start"
        return plan

    async def start(
        self, ctx: Context, plan: Plan, *, schedule: bool = True
    ) -> dict[str, Any] | None:
        """Write the run of ``plan`` (and its first job) in ``ctx``'s transaction."""
        now = ctx.now()
        active = plan.active
        finished = plan.status != "start"
        run = await store.insert_run(
            ctx,
            {
                "automation_id": active.id,
                "version_id": active.version_id,
                "version": active.version,
                "trigger_key": plan.trigger_key,
                "trigger": plan.trigger,
                "entity": plan.entity,
                "record_id": plan.record_id,
                "depth": plan.depth,
                "status": plan.status if finished else "running",
                "conditions": plan.trace,
                "steps": [],
                "pc": 0,
                "error": plan.error,
                "started_at": now,
                "updated_at": now,
                "finished_at": now if finished else None,
            },
        )
        if run is None or finished:
            return run
        if schedule:
            # no key: a new run's first job needs no rescheduling, and a cancelled run's job
            # finds the run cancelled and does nothing (saves a lookup on the hot path)
            await ctx.schedule(RUN_JOB, {"run": run["id"]}, at=now)
        return run

    # ---- "matches for N days" ---------------------------------------------------------------
    async def _watch(self, active: Active, event: Event, loader: Loader) -> Any:
        """Start or stop the timer of a record for a matches_for automation."""
        definition = active.definition
        entity, record_id = definition.entity, event.entity_id
        assert entity is not None and record_id is not None
        row = await loader.row(entity, record_id)
        env = Env(loader, entity, row, None, self.kith.clock.now(), definition.tz)
        matched = row is not None and await evaluate(definition.condition, env)
        key = (active.id, entity, record_id)
        if matched and key not in self._matches:

            async def start_timer(ctx: Context) -> None:
                await start_match(ctx, active, entity, record_id)
                self._matches.add(key)

            return start_timer
        if not matched and key in self._matches:

            async def stop_timer(ctx: Context) -> None:
                await stop_match(ctx, active.id, entity, record_id)
                self._matches.discard(key)

            return stop_timer
        return None


def run_key(run_id: int) -> str:
    return f"automation-run:{run_id}"


def match_key(automation_id: int, entity: str, record_id: int) -> str:
    return f"automation-match:{automation_id}:{entity}:{record_id}"


def tick_key(automation_id: int) -> str:
    return f"automation-tick:{automation_id}"


async def start_match(ctx: Context, active: Active, entity: str, record_id: int) -> None:
    duration = active.definition.trigger.duration
    assert duration is not None
    now = ctx.now()
    st = ctx.kith.db.statements
    codec = st.codec(AutomationMatch)
    cols = ["automation_id", "entity", "record_id", "since"]
    values = [active.id, entity, record_id, now]
    sql = (
        st.insert(AutomationMatch, cols, returning=False)
        + ' ON CONFLICT ("automation_id", "entity", "record_id") DO NOTHING RETURNING "id"'
    )
    params = [codec.encode(c, v) for c, v in zip(cols, values, strict=True)]
    inserted = await ctx.tx.fetchone(sql, params)  # type: ignore[union-attr]
    if inserted:
        await ctx.schedule(
            MATCH_JOB,
            {"automation": active.id, "entity": entity, "record": record_id},
            at=duration.after(now, active.definition.tz),
            key=match_key(active.id, entity, record_id),
        )


async def stop_match(ctx: Context, automation_id: int, entity: str, record_id: int) -> None:
    row = await ctx.find_one(
        AutomationMatch, automation_id=automation_id, entity=entity, record_id=record_id
    )
    if row is not None:
        await ctx.delete(AutomationMatch, row["id"])
    await ctx.cancel(match_key(automation_id, entity, record_id))


_ENGINES: weakref.WeakKeyDictionary[Any, Engine] = weakref.WeakKeyDictionary()


def close_engine(kith: Kith) -> None:
    engine = _ENGINES.pop(kith, None)
    if engine is not None:
        engine.close()


def engine_for(kith: Kith) -> Engine:
    """The engine of ``kith`` (made on first use)."""
    engine = _ENGINES.get(kith)
    if engine is None:
        engine = _ENGINES[kith] = Engine(kith)
    return engine


def event_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row as the event dict conditions and templates see."""
    at = row["at"]
    return {
        "id": row["event_id"],
        "name": row["name"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "actor": row["actor"],
        "at": at.isoformat() if isinstance(at, datetime) else at,
        "data": row["data"] or {},
    }
