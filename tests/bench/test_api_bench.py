"""Smoke test of ``bench/api.py``: a tiny run still serves, writes and reports (no speed
assertions here: speed targets live in the benchmark itself, as ratios)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_benchmark_runs_and_reports(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Other\n\nkept\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "api.py"),
            "--quick",
            "--db",
            "sqlite",
            "--n",
            "10",
            "--concurrency",
            "1,2",
            "--write-docs",
            str(docs),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| sqlite (1 process) | contact.create | 2 |" in proc.stdout
    assert "| sqlite (1 process) | contact.update | 1 |" in proc.stdout
    text = docs.read_text(encoding="utf-8")
    assert "## Other\n\nkept" in text and text.count("## REST API") == 1
