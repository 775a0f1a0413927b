"""The benchmarks run (a smoke version, so they never rot); their figures live in benchmarks/RESULTS.md."""

from __future__ import annotations

import json
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


@pytest.mark.slow
def test_the_dashboard_benchmark_times_both_pages_and_syncs_the_whole_demo():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dashboard_bench.py"), "--jobs", "30", "--steps", "500",
                           "--trials", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["jobs_page"]["first"] > 0 and figures["metrics_page"]["chart_bytes"] > 0
    assert figures["demo_sync"]["peak_rss"] > 50 * 2**20  # a real tree was sampled: streamlit, wandb-core
