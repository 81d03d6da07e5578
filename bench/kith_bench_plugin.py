"""The no-op job ``bench.noop`` for bench/jobs.py (loaded by ``kith worker`` subprocesses
through an entry point that the bench writes into a temporary directory)."""

from __future__ import annotations

import kith


@kith.job("bench.noop", max_attempts=1)
async def noop(ctx, payload):
    """Does nothing: the bench measures the cost of running a job, not of its work."""


class Plugin:
    @kith.hookimpl
    def kith_jobs(self):
        return [noop]


plugin = Plugin()
