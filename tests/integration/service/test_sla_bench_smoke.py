"""bench/sla.py still runs (tiny sizes, SQLite): jobs per ticket and the queue timing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "sla.py"


def test_the_sla_benchmark_runs(capsys):
    spec = importlib.util.spec_from_file_location("bench_sla", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)

    [result] = bench.main(
        ["--db", "sqlite", "--tickets", "400", "--via-commands", "30", "--repeat", "1"]
    )

    assert result.tickets == 400 and result.via_commands == 30
    assert 0 < result.sla_jobs <= 30 and result.max_jobs_per_ticket == 1
    assert result.breaching > 0  # the queue has something to find (it agreed with the raw SQL)
    assert result.queue_ms > 0 and result.raw_ms > 0
    assert "| sqlite | 400 | 30 |" in capsys.readouterr().out
