"""Events: written to the outbox inside the command's transaction, delivered after commit.

The process that commits a command claims the outbox rows it wrote and hands the events to
its :class:`Dispatcher`, which calls each ``kith_on_event`` implementation separately, in
outbox order. Rows are marked dispatched in batches, so a busy server does not pay an extra
write per command; rows still undispatched after a crash are delivered again (at least once).

An implementation that raises gets the event again later through a ``kith.redeliver`` job
for that (event, plugin) pair only; see :mod:`kith.delivery` (also for the relay that picks
up rows a crashed process left behind).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .tables import OutboxEvent

if TYPE_CHECKING:
    from .runtime import Kith

log = logging.getLogger("kith.events")

MARK_BATCH = 400
MARK_INTERVAL_S = 0.25


@dataclass(frozen=True)
class Event:
    """Something that happened, e.g. ``deal.stage_changed`` on deal 42."""

    name: str
    entity: str | None
    entity_id: int | None
    actor: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "data": self.data,
        }


@dataclass
class DeliveryFailure:
    """An implementation that raised while handling an event (kept for `kith plugins`)."""

    plugin: str
    event: str
    event_id: str
    error: str
    at: datetime


class Dispatcher:
    """Delivers committed events to every ``kith_on_event`` implementation, in order."""

    def __init__(self, kith: Kith) -> None:
        self.kith = kith
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._delivered: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self.failures: list[DeliveryFailure] = []
        # ids submitted and not yet marked dispatched: the relay leaves them alone
        self.in_flight: set[str] = set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="kith-events")

    def submit(self, events: list[Event]) -> None:
        for event in events:
            self.in_flight.add(event.id)
            self._queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every submitted event was delivered and marked dispatched."""
        if self._task is None:
            while not self._queue.empty():
                await self._deliver(self._queue.get_nowait())
                self._queue.task_done()
        else:
            await self._queue.join()
        await self._mark_dispatched()

    async def stop(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                event = await asyncio.wait_for(self._queue.get(), MARK_INTERVAL_S)
            except TimeoutError:
                await self._safe_mark()
                continue
            try:
                await self._deliver(event)
            finally:
                self._queue.task_done()
            if len(self._delivered) >= MARK_BATCH:
                await self._safe_mark()

    async def _deliver(self, event: Event) -> None:
        from .delivery import schedule_redelivery

        retry_all = False
        for plugin, error in await self.kith.hooks.on_event(event):
            log.error("plugin %s failed on %s (%s): %s", plugin, event.name, event.id, error)
            self.failures.append(
                DeliveryFailure(plugin, event.name, event.id, error, self.kith.clock.now())
            )
            del self.failures[:-100]
            try:
                await schedule_redelivery(self.kith, event, plugin, error)
            except Exception:  # the relay delivers the whole event again after its lease
                log.exception("could not schedule redelivery of %s to %s", event.id, plugin)
                retry_all = True
        if retry_all:
            self.in_flight.discard(event.id)
        else:
            self._delivered.append(event.id)

    async def _safe_mark(self) -> None:
        try:
            await self._mark_dispatched()
        except Exception:  # the rows stay undispatched and are delivered again: at least once
            log.exception("could not mark events dispatched")

    async def _mark_dispatched(self) -> None:
        while self._delivered:
            batch, self._delivered = self._delivered[:MARK_BATCH], self._delivered[MARK_BATCH:]
            try:
                await self._mark(batch)
            finally:  # marked, or left to the relay (which delivers them again)
                self.in_flight.difference_update(batch)

    async def _mark(self, batch: list[str]) -> None:
        db = self.kith.db
        marks = ", ".join(db.statements.placeholders(len(batch), start=2))
        first = db.statements.placeholders(1)[0]
        sql = (
            f'UPDATE "outbox_events" SET "dispatched_at" = {first} '  # noqa: S608
            f'WHERE "event_id" IN ({marks})'
        )
        now = db.statements.codec(OutboxEvent).encode("dispatched_at", self.kith.clock.now())
        await db.fetch_write(sql, [now, *batch], durable=False)
