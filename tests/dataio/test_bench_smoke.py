"""bench/import.py still runs (tiny sizes, SQLite): import vs raw batches, duplicate scan."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "import.py"


def test_the_import_benchmark_runs(capsys):
    spec = importlib.util.spec_from_file_location("bench_import", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)

    [result] = bench.main(["--db", "sqlite", "--rows", "60", "--contacts", "400"])

    assert result.rows == 60 and result.rows_per_s > 0 and result.baseline_s > 0
    assert result.planted == 2 and result.found == 2
    assert "| sqlite | 60 |" in capsys.readouterr().out
