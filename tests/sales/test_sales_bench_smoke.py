"""bench/sales.py still runs (tiny sizes, SQLite): routing spread and forecast timing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sales.py"


def test_the_sales_benchmark_runs(capsys):
    spec = importlib.util.spec_from_file_location("bench_sales", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)

    [result] = bench.main(["--db", "sqlite", "--leads", "40", "--deals", "300", "--repeat", "1"])

    assert result.leads == 40 and result.leads_per_s > 0 and result.baseline_leads_per_s > 0
    assert result.spread == (2, 2)  # round-robin over 20 owners: 2 leads each
    assert result.forecast_ms > 0 and result.raw_ms > 0
    assert "| sqlite | 40 |" in capsys.readouterr().out
