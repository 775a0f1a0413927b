"""Property-based: no input makes the reader or the validator raise."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftsync.datasets import CODES, detect_format, inspect, iter_lines, table_frame, wandb_rows

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "robot", 3, None])
KEYS = st.sampled_from(["role", "content", "name", "weight", "tool_calls", "tool_call_id", "refusal", "function_call",
                        "type", "text", "image_url", "url", "messages", "input", "preferred_output",
                        "non_preferred_output", "prompt", "completion", "tools", "answer"])
# JSON shaped like fine-tuning data, so the checks (not just the parser) see hostile values.
message = st.fixed_dictionaries({"role": ROLES}, optional={"content": json_values, "weight": json_values,
                                                         "tool_calls": json_values, "name": json_values})
example = st.one_of(
    st.fixed_dictionaries({"messages": st.lists(message | json_values, max_size=4)},
                          optional={"tools": json_values, "answer": json_values}),
    st.fixed_dictionaries({"input": json_values | st.fixed_dictionaries({"messages": st.lists(message, max_size=3)}),
                           "preferred_output": json_values | st.lists(message, max_size=2)},
                          optional={"non_preferred_output": st.lists(message, max_size=2)}),
    st.dictionaries(KEYS, json_values, max_size=5),
    json_values,
)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEAN = settings(FAST, max_examples=60)  # JSON generation is the slow part; 60 still covers each shape


def _check(report) -> None:
    assert all(f.code in CODES for f in report.findings)
    assert report.examples >= 0 and (report.examples > 0 or report.findings)


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    lines = list(iter_lines(data))
    assert all(r.finding is None or r.value is None for r in lines)
    _check(inspect(data))
    detect_format(data)
    table_frame(data, limit=5)


@LEAN
@given(st.lists(example, max_size=8), st.sampled_from([None, "chat", "preference", "reinforcement", "legacy"]))
def test_arbitrary_json_lines_never_raise(values: list, fmt: str | None) -> None:
    data = b"".join(json.dumps(v).encode() + b"\n" for v in values)
    report = inspect(data, fmt=fmt)
    _check(report)
    # Every line ends as an example or as a finding on that line (or in a file-level mixed_formats).
    lines_with_findings = {f.line for f in report.findings}
    mixed = any(f.code == "mixed_formats" for f in report.findings)
    assert report.examples + len(lines_with_findings - {None}) >= len(values) or mixed
    json.dumps(report.to_json())
    table_frame(data, fmt, limit=5, search="a")
    rows = wandb_rows(data, fmt, max_rows=3)
    assert all(isinstance(c, (str, int, float)) for r in rows.rows for c in r)
