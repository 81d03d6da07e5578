"""The automations' jobs: continue a run, fire a "matches for" timer, a schedule tick, the
scan that starts timers when such an automation is enabled, and webhook deliveries."""

from __future__ import annotations

import uuid
from typing import Any

from .. import __version__
from ..context import Context
from ..errors import KithError
from ..jobs import JobSpec, job
from ..net import guarded_request
from . import store
from .core_actions import WEBHOOK_JOB
from .engine import (
    MATCH_JOB,
    RUN_JOB,
    SCAN_JOB,
    TICK_JOB,
    Active,
    engine_for,
    start_match,
    tick_key,
)
from .fields import CATALOG, Loader
from .runner import perform
from .tables import Automation, AutomationMatch, AutomationRun, AutomationVersion

BATCH = 500


async def load_active(ctx: Context, automation_id: int) -> Active | None:
    """The automation if it is enabled, with its current version parsed."""
    row = await ctx.find_one(Automation, id=automation_id)
    if row is None or not row["enabled"] or row["archived_at"] is not None:
        return None
    version = await ctx.find_one(AutomationVersion, id=row["version_id"])
    if version is None:
        return None
    try:
        definition = engine_for(ctx.kith).version(version["id"], version["definition"])
    except KithError:
        return None
    return Active(row["id"], row["name"], row["version"], row["version_id"], definition)


@job(RUN_JOB, max_attempts=5)
async def run_job(ctx: Context, payload: dict[str, Any]) -> None:
    """Continue an automation run from where it stopped (start, or the end of a wait)."""
    await perform(ctx, engine_for(ctx.kith), int(payload["run"]))


@job(MATCH_JOB, max_attempts=5)
async def match_job(ctx: Context, payload: dict[str, Any]) -> None:
    """A record has matched a "matches for N days" automation that long: re-check, run."""
    automation_id, entity, record_id = payload["automation"], payload["entity"], payload["record"]
    match = await ctx.find_one(
        AutomationMatch, automation_id=automation_id, entity=entity, record_id=record_id
    )
    if match is None or match["fired_at"] is not None:
        return
    active = await load_active(ctx, automation_id)
    if active is None:
        await ctx.delete(AutomationMatch, match["id"])
        return
    engine = engine_for(ctx.kith)
    since = match["since"].isoformat()
    plan = await engine.plan(
        active,
        None,
        Loader(ctx.fetch, ctx.kith.db.statements),
        entity=entity,
        record_id=record_id,
        trigger={
            "kind": "matches_for",
            "since": since,
            "for": str(active.definition.trigger.duration),
        },
        trigger_key=f"match:{entity}:{record_id}:{since}",
        depth=1,
    )
    if plan.status == "no_match":
        await ctx.delete(AutomationMatch, match["id"])
        return
    await ctx.update(AutomationMatch, match, {"fired_at": ctx.now()}, record_history=False)
    if plan.log_skip:
        await engine.start(ctx, plan)


@job(TICK_JOB, max_attempts=3)
async def tick_job(ctx: Context, payload: dict[str, Any]) -> None:
    """A scheduled automation's time has come: run it (on each matching record), then
    schedule the next tick."""
    active = await load_active(ctx, int(payload["automation"]))
    if active is None or active.definition.trigger.kind != "schedule":
        return
    engine = engine_for(ctx.kith)
    definition = active.definition
    now = ctx.now()
    loader = Loader(ctx.fetch, ctx.kith.db.statements)
    trigger = {"kind": "schedule", "at": now.isoformat(), "cron": definition.trigger.cron.text}  # type: ignore[union-attr]
    entity = definition.entity
    if entity is None:
        plan = await engine.plan(
            active, None, loader, trigger=trigger, trigger_key=f"tick:{now.isoformat()}", depth=1
        )
        if plan.status != "no_match":
            await engine.start(ctx, plan)
    else:
        table = CATALOG.table(entity)
        limit = engine.settings.records_per_tick
        after, started = 0, 0
        while started < limit:
            rows = await store.record_batch(ctx.fetch, ctx.kith, table, after, BATCH)
            if not rows:
                break
            for row in rows:
                loader.remember(entity, row)
                plan = await engine.plan(
                    active,
                    None,
                    loader,
                    entity=entity,
                    record_id=row["id"],
                    trigger=trigger,
                    trigger_key=f"tick:{now.isoformat()}:{row['id']}",
                    depth=1,
                )
                if plan.status != "no_match" and plan.log_skip:
                    await engine.start(ctx, plan)
                    started += 1
                    if started >= limit:
                        break
            after = rows[-1]["id"]
            loader.forget()
    cron = definition.trigger.cron
    assert cron is not None
    await ctx.schedule(
        TICK_JOB,
        {"automation": active.id},
        at=cron.next_after(now, definition.tz),
        key=tick_key(active.id),
    )


@job(SCAN_JOB, max_attempts=3)
async def scan_job(ctx: Context, payload: dict[str, Any]) -> None:
    """A "matches for N days" automation was enabled: start the timers of the records that
    already match (counted from now)."""
    active = await load_active(ctx, int(payload["automation"]))
    if active is None or active.definition.trigger.kind != "matches_for":
        return
    from .conditions import Env, evaluate

    definition = active.definition
    entity = definition.entity
    assert entity is not None
    table = CATALOG.table(entity)
    loader = Loader(ctx.fetch, ctx.kith.db.statements)
    after = 0
    while True:
        rows = await store.record_batch(ctx.fetch, ctx.kith, table, after, BATCH)
        if not rows:
            break
        for row in rows:
            loader.remember(entity, row)
            env = Env(loader, entity, row, None, ctx.now(), definition.tz)
            if await evaluate(definition.condition, env):
                await start_match(ctx, active, entity, row["id"])
        after = rows[-1]["id"]
        loader.forget()


@job(WEBHOOK_JOB, max_attempts=5, backoff_base_s=60.0)
async def webhook_job(ctx: Context, payload: dict[str, Any]) -> None:
    """Deliver an automation's webhook; a refused address fails at once, an error answer
    is retried with backoff."""
    delivery = payload.get("delivery") or uuid.uuid4().hex
    headers = {
        "User-Agent": f"Kith/{__version__}",
        "X-Kith-Delivery": delivery,
        **(payload.get("headers") or {}),
    }
    outcome: dict[str, Any] = {"step": payload.get("step"), "webhook": payload["url"]}
    try:
        response = await guarded_request(
            payload.get("method", "POST"),
            payload["url"],
            headers=headers,
            json=payload.get("body"),
            timeout_s=float(payload.get("timeout_s", 5.0)),
            max_bytes=64_000,
            allow_private=bool(getattr(ctx.kith.settings, "webhooks_allow_private", False)),
        )
    except KithError as err:
        if err.code != "blocked_address":
            raise
        outcome["error"] = err.message
    else:
        outcome["status"] = response.status
        if not response.ok:
            raise RuntimeError(f"{payload['url']} answered {response.status}")
    outcome["at"] = ctx.now().isoformat()
    if payload.get("run"):
        run = await ctx.find_one(AutomationRun, id=payload["run"])
        if run is not None:
            await ctx.update(
                AutomationRun,
                run,
                {"steps": [*(run["steps"] or []), outcome]},
                record_history=False,
            )


JOBS: list[JobSpec] = [run_job, match_job, tick_job, scan_job, webhook_job]
