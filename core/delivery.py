"""Event delivery that survives failures and crashes (at least once).

* A ``kith_on_event`` implementation that raises is retried as a ``kith.redeliver`` job for
  that (event, plugin) pair only: the other plugins already have the event, and the command
  that emitted it succeeded long ago. The job retries with backoff and is dead (visible in
  ``kith jobs``, retryable) after its last attempt.
* The relay (a housekeeping step of the scheduler) takes outbox rows that were claimed more
  than ``KITH_EVENT_LEASE_S`` ago and never marked dispatched — their process crashed, or
  could not mark them — and delivers them again, in outbox order, to every implementation.

So a handler may see an event twice: handlers are idempotent on ``event.id``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .context import Context
from .errors import KithError
from .events import Event
from .jobs import job
from .plugins_manager import await_me_maybe
from .tables import Job, OutboxEvent

if TYPE_CHECKING:
    from .runtime import Kith

log = logging.getLogger("kith.events")

REDELIVER = "kith.redeliver"
REDELIVERY_DELAY = timedelta(seconds=10)
RELAY_BATCH = 500


def event_from_row(row: dict[str, Any]) -> Event:
    """The :class:`Event` an outbox row holds (the row decoded by its codec)."""
    return Event(
        name=row["name"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        actor=row["actor"],
        at=row["at"],
        data=row["data"] or {},
        id=row["event_id"],
    )


def redelivery_key(event_id: str, plugin: str) -> str:
    return f"event:{event_id}:{plugin}"[:200]


async def deliver_to_plugin(kith: Kith, plugin: str, event: Event) -> None:
    """Call only ``plugin``'s ``kith_on_event`` with ``event``; its exception propagates."""
    impls = [i for i in kith.pm.hook.kith_on_event.get_hookimpls() if i.plugin_name == plugin]
    if not impls:
        raise KithError(
            "unknown_plugin",
            f"Plugin {plugin} is not loaded: it cannot receive {event.name} ({event.id}).",
        )
    kwargs = {"event": event, "kith": kith}
    for impl in impls:
        await await_me_maybe(impl.function(*[kwargs[a] for a in impl.argnames]))


async def schedule_redelivery(kith: Kith, event: Event, plugin: str, error: str) -> None:
    """Store a ``kith.redeliver`` job for (event, plugin), unless one is already scheduled."""
    db = kith.db
    codec = db.statements.codec(Job)
    now = kith.clock.now()
    values = {
        "name": REDELIVER,
        "payload": {"event_id": event.id, "plugin": plugin, "event": event.name},
        "key": redelivery_key(event.id, plugin),
        "run_at": now + REDELIVERY_DELAY,
        "status": "scheduled",
        "max_attempts": redeliver.max_attempts,
        "last_error": f"{plugin} failed on {event.name}: {error}"[:4000],
        "created_at": now,
        "updated_at": now,
    }
    cols = list(values)
    sql = db.statements.insert(Job, cols, returning=False) + " ON CONFLICT DO NOTHING"
    await db.fetch_write(sql, [codec.encode(c, values[c]) for c in cols])


@job(REDELIVER, max_attempts=8, backoff_base_s=30.0)
async def redeliver(ctx: Context, payload: dict[str, Any]) -> None:
    """Deliver one event again to the one plugin whose ``kith_on_event`` failed on it.

    Runs in the job's transaction: commands the handler runs (``kith.run``) commit together
    with the job's done mark, as the job's system actor."""
    row = await ctx.find_one(OutboxEvent, event_id=payload["event_id"])
    if row is None:
        raise KithError("not_found", f"Event {payload['event_id']} is no longer in the outbox.")
    await deliver_to_plugin(ctx.kith, payload["plugin"], event_from_row(row))


async def relay(kith: Kith, *, limit: int = RELAY_BATCH) -> int:
    """Deliver outbox rows left undispatched by a process that crashed (claimed longer than
    ``KITH_EVENT_LEASE_S`` ago); returns how many events were handed to the dispatcher."""
    db = kith.db
    codec = db.statements.codec(OutboxEvent)
    now = kith.clock.now()
    cutoff = codec.encode("claimed_at", now - timedelta(seconds=kith.settings.event_lease_s))
    marks = db.statements.placeholders(2)
    candidates = await db.fetch(
        f'SELECT "id", "event_id" FROM "outbox_events" WHERE "dispatched_at" IS NULL '  # noqa: S608
        f'AND ("claimed_at" IS NULL OR "claimed_at" < {marks[0]}) ORDER BY "id" LIMIT {marks[1]}',
        [cutoff, limit],
    )
    pending = kith.dispatcher.in_flight
    ids = [r["id"] for r in candidates if r["event_id"] not in pending]
    if not ids:
        return 0
    head = db.statements.placeholders(3)
    in_list = ", ".join(db.statements.placeholders(len(ids), start=4))
    rows = await db.fetch_write(
        f'UPDATE "outbox_events" SET "claimed_by" = {head[0]}, "claimed_at" = {head[1]} '  # noqa: S608
        f'WHERE "dispatched_at" IS NULL AND ("claimed_at" IS NULL OR "claimed_at" < {head[2]}) '
        f'AND "id" IN ({in_list}) RETURNING *',
        [kith.instance_id, codec.encode("claimed_at", now), cutoff, *ids],
        durable=False,
    )
    if not rows:
        return 0
    rows = sorted((codec.decode(r) for r in rows), key=lambda r: r["id"])
    log.warning("relaying %d event(s) left undelivered by a stopped process", len(rows))
    kith.dispatcher.submit([event_from_row(r) for r in rows])
    return len(rows)
