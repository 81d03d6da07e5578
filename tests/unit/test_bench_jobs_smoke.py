"""bench/jobs.py runs end to end with tiny sizes (its figures live in docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "jobs.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("kith_bench_jobs", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_jobs_bench_runs_with_tiny_sizes():
    """The embedded row (the broker rows start real worker processes, as the process tests
    in tests/integration/test_job_processes.py do; run them with bench/jobs.py --quick)."""
    bench = load_bench()
    table = bench.main(["--jobs", "60", "--lateness-s", "1", "--only", "sqlite"])
    rows = [line for line in table.splitlines() if line.startswith("| ") and "jobs/s" not in line]
    assert len(rows) == 1, table
    numbers = re.findall(r"\| ([\d,]+) \|", rows[0])
    assert numbers and int(numbers[0].replace(",", "")) > 0, table
    assert "baseline" in table.lower() or "bare" in rows[0]
