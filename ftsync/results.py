"""Metrics of a job: its result file (base64 or plain CSV) or its metrics events, as one frame.

The frame has a `step` column (int, sorted, unique) and one float column per metric, NaN where a
step has no value. Column names are kept as OpenAI wrote them (`train_accuracy` and Azure's
`train_mean_token_accuracy` both survive), because W&B's own logger logs them unchanged.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .errors import SourceError

# Spellings that mean the same metric; the dashboard plots them as one.
METRIC_ALIASES = {
    "train_accuracy": "train_mean_token_accuracy",
    "validation_mean_token_accuracy": "valid_mean_token_accuracy",
}


HEADER_CHARS = 64 * 1024  # where a result file's header line must be


def decode_result_file(raw: bytes, file_id: str = "result file") -> str:
    """The CSV text of a result file: today's API sends base64, older jobs plain CSV."""
    stripped = raw.strip()
    if not stripped:
        raise SourceError(f"{file_id} is empty")
    try:
        text = base64.b64decode(stripped, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SourceError(f"{file_id} is corrupt: neither base64 nor UTF-8 CSV") from None
    first = text[:HEADER_CHARS].lstrip().split("\n", 1)[0]  # a slice: no copy of a large file
    if "step" not in [c.strip() for c in first.split(",")]:
        raise SourceError(f"{file_id} is corrupt: its header has no 'step' column ({first[:60]!r})")
    return text


def parse_result_csv(text: str, file_id: str = "result file") -> pd.DataFrame:
    """Rows by step; non-numeric cells become NaN (never a crash); rows without a step are dropped."""
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"{file_id} is corrupt: {str(exc).splitlines()[0]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    numeric = frame.apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    numeric = numeric.dropna(subset=["step"])
    numeric["step"] = numeric["step"].astype("int64")
    numeric = numeric.drop_duplicates(subset="step", keep="last").sort_values("step").reset_index(drop=True)
    return numeric.astype({c: "float64" for c in numeric.columns if c != "step"})


def parse_result_file(raw: bytes, file_id: str = "result file") -> pd.DataFrame:
    return parse_result_csv(decode_result_file(raw, file_id), file_id)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested metrics (RFT events) to stable `a/b/c` keys; lists of named dicts key by name."""
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "/"))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    label = str(item.get("name", i))
                    out.update(flatten({k: v for k, v in item.items() if k not in ("name", "type", "model")},
                                       f"{name}/{label}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def metrics_from_events(events: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Metrics events (`type: metrics`) to the same frame shape; the last event of a step wins."""
    rows: dict[int, dict[str, float]] = {}
    for event in events:
        data = event.get("data")
        if event.get("type") != "metrics" or not isinstance(data, dict) or "step" not in data:
            continue
        try:
            step = int(data["step"])
        except (TypeError, ValueError):
            continue
        flat = flatten({k: v for k, v in data.items() if k not in ("step", "total_steps")})
        rows[step] = flat
    if not rows:
        return empty_metrics()
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.insert(0, "step", frame.index.astype("int64"))
    return frame.reset_index(drop=True)


def empty_metrics() -> pd.DataFrame:
    return pd.DataFrame({"step": pd.Series([], dtype="int64")})
