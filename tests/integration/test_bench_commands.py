"""bench/commands.py still runs: a tiny run on each backend leaves the rows it should.

Speed is measured by the bench itself, never asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "commands.py"
N = 50


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("kith_bench_commands", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


async def test_the_commands_benchmark_creates_and_updates_every_contact(
    bench, kith_backend: str, kith_db_url: str
) -> None:
    # the fixture's fresh, migrated database serves as the template the bench copies
    admin_url = kith_db_url.rsplit("/", 1)[0] + "/postgres"
    async with bench.Databases(admin_url, templates={kith_backend: kith_db_url}) as databases:
        report = await bench.run_benchmark(
            N,
            [kith_backend],
            [3],
            databases,
            sync_baseline=kith_backend == "sqlite",
            slice_size=20,  # three turns each, who goes first rotating
            quiet=True,
        )
    expected = {
        "contacts": N,
        "contact_emails": N,
        "history": 2 * N,
        "outbox_events": 2 * N,
        "updated": N,
    }
    assert [(r.backend, r.callers) for r in report.runs] == [(kith_backend, 3)]
    for run in report.runs:
        assert run.kith.counts == expected
        assert run.raw.counts == expected
        assert set(run.kith.seconds) == set(run.raw.seconds) == {"create", "update"}
        if run.sync is not None:
            assert run.sync.counts == expected
    table = report.table()
    assert "Kith ÷ raw" in table and kith_backend in table
