"""A tiny run of bench/automations.py, so the benchmark keeps working (figures are not
asserted: speed lives in bench/, not in tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "automations.py"


@pytest.fixture
def bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_automations", BENCH)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_automations", module)  # dataclasses need it
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "DEALS", 20)
    monkeypatch.setattr(module, "CONTACTS", 20)
    return module


async def test_the_automations_benchmark_runs_and_reports(bench):
    result = await bench.bench("sqlite", 120)
    assert result["baseline"]["events"] == 120
    assert result["with_automations"]["events"] == 120
    assert result["baseline"]["runs"] == 0
    assert result["with_automations"]["runs"] > 0  # some events start runs
    assert "x baseline" in bench.report(result)
