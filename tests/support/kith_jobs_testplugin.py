"""A plugin the process tests load into real ``kith run`` / ``kith worker`` subprocesses
through its ``kith.plugins`` entry point (the tests write the dist-info next to it)."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import kith
from kith.tables import Task
from pydantic import BaseModel, Field


async def effect_row(ctx, title: str) -> None:
    """A job's database effect: one task row (no history, no event: cheap enough that
    1,000 jobs stay quick in CI)."""
    await ctx.insert(Task, {"title": title, "status": "open", "custom": {}}, record_history=False)


class Many(BaseModel):
    count: int = Field(1, ge=1, le=100_000)
    slow_first: bool = False


@kith.command("proctest.schedule", input=Many, permission="tasks.write")
async def schedule_many(ctx, data: Many):
    """Schedule ``count`` jobs due now, each creating one task."""
    for n in range(data.count):
        await ctx.schedule("proctest.effect", {"n": n, "slow": data.slow_first and n == 0})


@kith.job("proctest.effect", lease=timedelta(seconds=2))
async def effect(ctx, payload):
    """Create task ``effect <n>`` (the job's database effect). A slow job, on its first
    attempt, writes the marker file after its effect and then works until killed."""
    await effect_row(ctx, f"effect {payload['n']}")
    if payload.get("slow") and ctx.job["attempts"] == 1:
        marker = Path(os.environ["KITH_TEST_MARKER"])
        await asyncio.to_thread(marker.write_text, str(ctx.job["id"]))
        await asyncio.sleep(3600)


class Plugin:
    @kith.hookimpl
    def kith_commands(self):
        return [schedule_many]

    @kith.hookimpl
    def kith_jobs(self):
        return [effect]


plugin = Plugin()
