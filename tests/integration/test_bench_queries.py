"""bench/queries.py still runs: a tiny data set on each backend, every query measured.

Speed is measured by the bench itself, never asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "queries.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("kith_bench_queries", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


async def test_the_queries_benchmark_runs_every_measure(bench, kith_backend, kith_db_url):
    sizes = bench.Sizes(contacts=300, deals=60, timeline_items=50, iterations=3)
    data = bench.build(sizes)
    measures = await bench.bench_backend(kith_db_url, sizes, data, lambda line: None)
    assert [m.name for m in measures] == [
        "find",
        "find, agent with own visibility",
        "contact.list, custom choice filter, 50 per page",
        "contact.list, custom number filter, 50 per page",
        "deal.timeline, first 50 of 50",
        "deal.timeline, all 50 (pages of 200)",
    ]
    assert all(m.kith_ms and m.raw_ms for m in measures)
    table = bench.report({kith_backend: measures}, sizes)
    assert f"| {kith_backend} | find |" in table
