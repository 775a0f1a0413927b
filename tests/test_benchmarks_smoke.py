"""The benchmarks run (a smoke version, so they never rot); their figures live in benchmarks/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_sync_benchmark_runs_every_contender_and_checks_what_they_logged():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sync_bench.py"), "--smoke"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for contender in ("logger", "ftsync", "full", "floor"):
        assert f"| {contender} |" in done.stdout
