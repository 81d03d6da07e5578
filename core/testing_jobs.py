"""Test helpers for jobs on a real broker (used by :mod:`kith.testing`).

A test that asks for the ``kith_runner`` fixture runs once per runner: ``embedded`` on
SQLite and PostgreSQL, and ``redis`` / ``rabbitmq`` on PostgreSQL. With a broker, the
test's ``kith_app`` is the scheduler and a real dramatiq worker (its own Kith, engine and
event loop, sharing the test's clock and plugins) runs the jobs; ``run_jobs()`` sends the
due job ids through the broker and waits until the worker handled them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from .broker import BrokerWorker
    from .runtime import Kith

log = logging.getLogger("kith.testing")

RUNNERS = ("embedded", "redis", "rabbitmq")
DEFAULT_URLS = {
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F",
}


class ServiceUnreachable(RuntimeError):
    """A broker the tests need does not answer (the test fails; it is never skipped)."""


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Raise :class:`ServiceUnreachable` with a clear message unless ``url`` answers."""
    parsed = urlparse(url)
    port = parsed.port or (6379 if parsed.scheme.startswith("redis") else 5672)
    host = parsed.hostname or "127.0.0.1"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise ServiceUnreachable(
            f"{parsed.scheme} broker at {host}:{port} is unreachable ({exc}). Start the "
            "services with scripts/services.sh (./dev test does), or choose brokers with "
            "--kith-brokers / KITH_TEST_BROKERS."
        ) from exc


def delete_queue(worker_or_transport: Any) -> None:
    """Remove a test queue (and dramatiq's delay and dead-letter queues) from its broker."""
    transport = getattr(worker_or_transport, "transport", worker_or_transport)
    if transport is None:
        return
    broker, queue = transport.broker, transport.queue
    try:
        if transport.kind == "redis":
            broker.flush(queue)
        else:
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                broker.channel.queue_delete(queue=name)
    except Exception as exc:  # best effort: a broker restarted by the test may refuse
        log.debug("could not delete test queue %s: %s", queue, exc)


class BrokerHarness:
    """The test's Kith as scheduler, plus one in-process ``kith worker`` on a real broker."""

    def __init__(
        self,
        kith_app: Kith,
        make_worker_kith: Callable[[str, str], Kith],
        broker_url: str,
        *,
        threads: int = 4,
        timeout_s: float = 20.0,
    ) -> None:
        self.kith_app = kith_app
        self.broker_url = broker_url
        self.queue = f"kith_test_{uuid.uuid4().hex[:12]}"
        self.make_worker_kith = make_worker_kith
        self.threads = threads
        self.timeout_s = timeout_s
        self.worker: BrokerWorker | None = None
        self.sent = 0

    async def start(self) -> BrokerHarness:
        from .broker import BrokerWorker

        check_reachable(self.broker_url)
        self.worker = BrokerWorker(
            lambda: self.make_worker_kith(self.broker_url, self.queue),
            threads=self.threads,
            scheduler=False,
            queue=self.queue,
        )
        await asyncio.to_thread(self.worker.start)
        self.kith_app.scheduler.transport = self.worker.transport
        return self

    async def stop(self) -> None:
        worker, self.worker = self.worker, None
        self.kith_app.scheduler.transport = None
        if worker is not None:
            await asyncio.to_thread(worker.stop, delete_queue)

    @property
    def worker_kith(self) -> Kith:
        assert self.worker is not None
        return self.worker.kith

    async def on_worker_loop(self, coro: Any) -> Any:
        """Await ``coro`` on the worker's event loop (its Kith lives there)."""
        assert self.worker is not None and self.worker.loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.worker.loop))

    async def wait_handled(self, count: int) -> None:
        """Wait until the worker handled ``count`` messages in all (bounded)."""
        assert self.worker is not None
        deadline = time.monotonic() + self.timeout_s
        while self.worker.handled < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the worker handled {self.worker.handled} of {count} job messages within "
                    f"{self.timeout_s:.0f} s (queue {self.queue} on {self.broker_url})"
                )
            await asyncio.sleep(0.01)

    async def drain(self) -> None:
        await self.on_worker_loop(self.worker_kith.drain())
        await self.kith_app.drain()

    async def run_due(self) -> int:
        """Send every due job through the broker, wait until the worker handled each, deliver
        the events; repeat until nothing is due. Returns how many jobs ran."""
        total = 0
        while True:
            executed = self.worker_kith.jobs.executed
            sent = await self.kith_app.scheduler.tick()
            self.sent += sent
            await self.wait_handled(self.sent)
            await self.drain()
            total += self.worker_kith.jobs.executed - executed
            if not sent:
                return total
