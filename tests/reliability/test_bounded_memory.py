"""Format detection looks ahead a bounded amount: a file of lines that are no example is not buffered whole."""

from __future__ import annotations

import tracemalloc

import pytest

from ftsync.datasets import inspect


def traced_inspect(data: bytes):
    """inspect(data) and the peak of what it allocated (a small run first: what any inspection loads
    once is not what these tests measure)."""
    inspect(data[:100])
    tracemalloc.start()
    try:
        report = inspect(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return report, peak


@pytest.mark.slow
def test_format_detection_on_non_examples_holds_a_bounded_look_ahead():
    """Proves: read_ahead stops at READ_AHEAD_RECORDS (without it: ~54 MiB here, `{}` lines kept until
    READ_AHEAD_BYTES; without both, 313 MB of RSS for 4 MB of them through `ftsync validate`). Junk
    lines never reach it: the reader logs them and yields only lines that parse."""
    report, peak = traced_inspect(b"{}\n" * 400_000)
    assert report.format is None and report.examples == 0 and report.counts["unrecognized_example"] == 400_000
    assert peak < 15 * 2**20, f"peak {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_junk_lines_cost_no_object_per_line():
    """Proves: bad lines go into a FindingLog that stores the first 1,000 of a code (without its cap:
    a Finding kept per line, ~81 MiB here)."""
    report, peak = traced_inspect(b"x\n\n" * 200_000)  # 200,000 invalid JSON lines and 200,000 blank ones
    assert peak < 10 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert report.counts == {"invalid_json": 200_000, "blank_line": 200_000, "too_few_examples": 1}
    assert len(report.findings) == 2001 and report.truncated_codes == ["blank_line", "invalid_json"]
