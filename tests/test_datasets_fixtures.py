"""Every finding code, on hand-written fixture files with the findings (and line numbers) expected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ftsync.datasets import CODES, detect_format, inspect

DATA = Path(__file__).parent / "data" / "datasets"
EXPECTED: dict = json.loads((DATA / "expected.json").read_text())


def _inspect(name: str):
    options = dict(EXPECTED[name].get("options", {}))
    if "validation" in options:
        options["validation"] = DATA / options["validation"]
    return inspect(DATA / f"{name}.jsonl", **options)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings(name: str) -> None:
    report = _inspect(name)
    assert report.format == EXPECTED[name]["format"]
    assert [[f.line, f.code] for f in report.findings] == EXPECTED[name]["findings"]
    for f in report.findings:
        assert f.message and "\n" not in f.message and len(f.message) <= 300
        assert f.severity in ("error", "warning")
    assert report.ok == (not any(CODES[c][0] == "error" for _, c in EXPECTED[name]["findings"]))


# Codes whose fixture is built by a test below instead of a file in DATA.
BUILT_HERE = {"line_too_large"}


def test_every_code_has_a_fixture() -> None:
    covered = {code for e in EXPECTED.values() for _, code in e["findings"]}
    assert covered | BUILT_HERE == set(CODES)
    # ...and a fixture file named for it, so each code is easy to find and read.
    assert {c for c in CODES if c not in BUILT_HERE and not (DATA / f"{c}.jsonl").exists()} == set()


def test_codes_are_stable_snake_case_with_severity() -> None:
    for code, (severity, description) in CODES.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code)
        assert severity in ("error", "warning") and description


def test_good_files_have_no_findings_and_detect_their_format() -> None:
    for fmt in ("chat", "preference", "reinforcement", "legacy"):
        path = DATA / f"good_{fmt}.jsonl"
        assert detect_format(path) == fmt
        report = inspect(path)
        assert report.findings == [] and report.ok and report.format == fmt


def test_mixed_formats_message_names_the_lines() -> None:
    [f] = _inspect("mixed_formats").findings
    assert f.line is None and f.message == "lines 4, 9 are preference; the file is chat"


def test_mixed_formats_lines_are_not_counted_as_examples() -> None:
    report = _inspect("mixed_formats")
    assert report.examples == 10


def test_numeric_weights_are_findings_not_crashes() -> None:
    report = _inspect("invalid_weight")
    assert [f.message for f in report.findings][0] == "message 2 (assistant) has weight 0.5; it must be 0 or 1"
    assert report.tokens["total"] > 0


def test_crlf_and_missing_final_newline_are_fine() -> None:
    assert _inspect("crlf_ok").examples == 10
    assert _inspect("no_final_newline_ok").examples == 10


def test_findings_are_capped_per_code_but_counted() -> None:
    data = b"{bad\n" * 50
    report = inspect(data, max_findings_per_code=5)
    assert report.counts["invalid_json"] == 50
    assert len([f for f in report.findings if f.code == "invalid_json"]) == 5
    assert report.truncated_codes == ["invalid_json"]


def test_line_too_large_is_skipped_reported_and_the_rest_checked() -> None:
    """A line over max_line_bytes is never parsed: one error at its line, and the other lines are
    checked as usual. Length alone does not decide: `[[],[],...]` is short on disk but each `[]` is a
    56-byte list in memory, so it counts as what parsing it would take."""
    good = (DATA / "good_chat.jsonl").read_bytes()  # 11 examples, lines of at most ~3 KB by parse_cost
    long_text = (b'{"messages": [{"role": "user", "content": "' + b"x" * 6000 + b'"}, '
                 b'{"role": "assistant", "content": "y"}]}\n')
    many_values = b"[" + b"[]," * 300 + b"[]]\n"  # 904 bytes, ~44 KB once parsed
    report = inspect(long_text + good + many_values, max_line_bytes=5000)
    assert [[f.line, f.code] for f in report.findings] == [[1, "line_too_large"], [13, "line_too_large"]]
    assert report.examples == 11 and report.format == "chat" and not report.ok
    size = f"{len(long_text) - 1:,} bytes"  # without its newline
    want = f"the line ({size}) would take more than 5,000 bytes of memory to parse; skipped"
    assert report.findings[0].message == want
    assert inspect(long_text + good, max_line_bytes=10_000).findings == []  # under the limit: an ordinary example
