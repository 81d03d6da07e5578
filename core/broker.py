"""Jobs at scale: dramatiq carries job *ids* from the scheduler to ``kith worker`` processes.

The jobs table stays the truth; a message only says "job 42 may be due". A worker claims the
row with the same conditional UPDATE as the embedded runner, so a message delivered twice,
late, or for a job cancelled after it was sent does nothing, and a message the broker lost
is sent again by the scheduler (``KITH_JOB_RESEND_S``).

dramatiq pitfalls handled here (DESIGN §10): the broker is built and set with
``dramatiq.set_broker`` *before* the actor is declared, and the actor is declared on that
broker explicitly (with no broker set, dramatiq silently uses RabbitMQ on localhost); the
``async def`` actor needs the ``AsyncIO`` middleware, whose event loop thread is where each
worker process runs its own Kith (its own engine and connections).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .errors import FieldError, KithError

if TYPE_CHECKING:
    import dramatiq

    from .runtime import Kith

log = logging.getLogger("kith.broker")

ACTOR_NAME = "kith_job"
SCHEMES = {"redis": "redis", "rediss": "redis", "amqp": "rabbitmq", "amqps": "rabbitmq"}


def broker_kind(url: str) -> str:
    """``redis`` or ``rabbitmq`` for a ``KITH_BROKER_URL``; a clear error otherwise."""
    kind = SCHEMES.get(urlparse(url).scheme)
    if kind is None:
        raise KithError(
            "invalid_settings",
            f"KITH_BROKER_URL must start with redis:// or amqp:// (got {url.split('@')[-1]!r})",
            [FieldError("KITH_BROKER_URL", "unsupported scheme")],
        )
    return kind


def require_postgres(database_url: str, what: str) -> None:
    """Separate job processes need PostgreSQL: one process owns a SQLite file's writes."""
    if not database_url.startswith(("postgresql://", "postgres://")):
        raise KithError(
            "invalid_settings",
            f"{what} needs PostgreSQL (KITH_DATABASE_URL=postgresql://…): on SQLite one "
            "process owns the database file's writes, so jobs run inside `kith run` itself. "
            "Unset KITH_BROKER_URL to use the embedded runner, or move to PostgreSQL.",
            [FieldError("KITH_DATABASE_URL", "must be postgresql:// for separate job processes")],
        )


def make_broker(url: str, middleware: list[Any] | None = None) -> dramatiq.Broker:
    """A dramatiq broker for ``url``, set as dramatiq's global broker."""
    import dramatiq
    from dramatiq.middleware import AsyncIO

    kind = broker_kind(url)
    stack = [AsyncIO(), *(middleware or [])]
    broker: dramatiq.Broker
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, middleware=stack)
    else:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url, middleware=stack)
    dramatiq.set_broker(broker)
    return broker


# The worker of this process (a ``kith worker`` sets it); the actor hands job ids to it.
_worker: BrokerWorker | None = None


async def _kith_job(job_id: int) -> None:
    worker = _worker
    if worker is None:  # a message consumed by a process that is not a Kith worker
        raise RuntimeError("no Kith worker runs in this process")
    await worker.handle(job_id)


class JobTransport:
    """Sends job ids to the broker's queue (and declares the actor that receives them)."""

    def __init__(self, url: str, queue: str, *, middleware: list[Any] | None = None) -> None:
        import dramatiq

        self.url = url
        self.queue = queue
        self.kind = broker_kind(url)
        self.broker = make_broker(url, middleware)
        self.actor = dramatiq.Actor(
            _kith_job,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=queue,
            priority=0,
            options={},
        )
        # pika connections belong to one thread, and a blocking send must not stall the
        # event loop: every send happens on this one thread.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="kith-broker-send")

    async def send(self, job_ids: list[int]) -> int:
        """Send each id; returns how many the broker took (stops at the first failure)."""
        if not job_ids:
            return 0
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._send_all, job_ids)

    def _send_all(self, job_ids: list[int]) -> int:
        sent = 0
        for job_id in job_ids:
            try:
                self.actor.send(job_id)
            except Exception as exc:
                log.warning("broker refused job %s: %s", job_id, exc)
                break
            sent += 1
        return sent

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        try:
            self.broker.close()
        except Exception:
            log.debug("closing the broker failed", exc_info=True)


def _lifecycle_middleware(worker: BrokerWorker) -> Any:
    from dramatiq.asyncio import get_event_loop_thread
    from dramatiq.middleware import Middleware

    class KithLifecycle(Middleware):
        """Starts this process's Kith on the AsyncIO middleware's loop once the worker booted,
        and stops it after the worker threads finished (before the loop stops)."""

        def after_worker_boot(self, broker: Any, dramatiq_worker: Any) -> None:
            thread = get_event_loop_thread()
            assert thread is not None, "the AsyncIO middleware must come first"
            worker.loop = thread.loop
            thread.run_coroutine(worker._astart())

        def after_worker_shutdown(self, broker: Any, dramatiq_worker: Any) -> None:
            thread = get_event_loop_thread()
            if thread is not None and thread.loop.is_running():
                thread.run_coroutine(worker._astop())

    return KithLifecycle()


class BrokerWorker:
    """One ``kith worker`` process: a dramatiq worker whose threads hand job ids to this
    process's Kith, running on the AsyncIO middleware's event loop. With ``scheduler`` it is
    also a candidate for scheduler leader (advisory lock)."""

    def __init__(
        self,
        kith_factory: Callable[[], Kith],
        *,
        threads: int | None = None,
        scheduler: bool = True,
        queue: str | None = None,
    ) -> None:
        self.kith = kith_factory()
        settings = self.kith.settings
        if not settings.broker_url:
            raise KithError(
                "invalid_settings",
                "kith worker needs KITH_BROKER_URL (redis://… or amqp://…). Without a "
                "broker, `kith run` runs the jobs itself.",
                [FieldError("KITH_BROKER_URL", "is not set")],
            )
        require_postgres(settings.database_url, "kith worker")
        self.threads = threads or settings.worker_threads
        self.with_scheduler = scheduler
        self.queue = queue or settings.broker_queue
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = asyncio.Event()
        self.handled = 0
        self.transport: JobTransport | None = None
        self.dramatiq_worker: dramatiq.Worker | None = None

    def start(self) -> None:
        """Connect, start the Kith and the worker threads (returns once they run)."""
        global _worker
        import dramatiq

        if _worker is not None:
            raise RuntimeError("one Kith worker per process")
        _worker = self
        self.transport = JobTransport(
            self.kith.settings.broker_url or "",
            self.queue,
            middleware=[_lifecycle_middleware(self)],
        )
        self.dramatiq_worker = dramatiq.Worker(
            self.transport.broker, worker_threads=self.threads, worker_timeout=250
        )
        self.dramatiq_worker.start()

    def stop(self, before_close: Callable[[BrokerWorker], Any] | None = None) -> None:
        """Finish the jobs in hand, give prefetched messages back, stop the Kith; then
        ``before_close(self)`` (tests delete their queue there) and disconnect."""
        global _worker
        try:
            if self.dramatiq_worker is not None:
                self.dramatiq_worker.stop()
            if before_close is not None:
                before_close(self)
            if self.transport is not None:
                self.transport.close()
        finally:
            _worker = None

    def run_on_loop(self, coro: Any, timeout: float | None = None) -> Any:
        """Run ``coro`` on the worker's event loop from another thread and wait for it."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _astart(self) -> None:
        kith = self.kith
        await kith.start(run_jobs=False)
        kith.jobs.start_heartbeat()
        if self.with_scheduler:
            kith.scheduler.start(self.transport)
        self.ready.set()
        log.info(
            "kith worker %s: %d threads on queue %r (%s)",
            kith.instance_id,
            self.threads,
            self.queue,
            self.transport.kind if self.transport else "?",
        )

    async def _astop(self) -> None:
        self.ready.clear()
        await self.kith.stop()

    async def handle(self, job_id: int) -> None:
        """The actor: claim job ``job_id`` and run it (never raises: the jobs table keeps
        the retry state, not the broker)."""
        await self.ready.wait()
        try:
            await self.kith.jobs.run_one(int(job_id))
        except Exception:
            log.exception("job %s could not be run (it runs again after its lease)", job_id)
        self.handled += 1


def serve_forever(worker: BrokerWorker) -> None:
    """Run ``worker`` until SIGTERM or SIGINT (``kith worker``)."""
    import signal

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        log.info("kith worker stopping: finishing the jobs in hand")
        worker.stop()
