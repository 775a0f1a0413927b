"""Shaping job rows for the Jobs page: filters and the displayed columns."""

from __future__ import annotations

import pandas as pd

COLUMNS = {"id": "Job", "suffix": "Suffix", "model": "Base model", "method": "Method", "status": "Status",
           "created": "Created", "duration": "Duration", "trained_tokens": "Trained tokens",
           "fine_tuned_model": "Fine-tuned model", "sync_state": "Sync state", "run_link": "W&B run",
           "problem": "Problem"}


def filter_jobs(frame: pd.DataFrame, chosen: dict[str, list[str]], text: str = "") -> pd.DataFrame:
    """Rows matching every non-empty filter and, case-insensitively, the search text."""
    mask = pd.Series(True, index=frame.index)
    for column, values in chosen.items():
        if values:
            mask &= frame[column].isin(values)
    if text.strip():
        needle = text.strip().lower()
        hay = frame[["id", "suffix", "model", "fine_tuned_model"]].fillna("").astype(str).agg(" ".join, axis=1)
        mask &= hay.str.lower().str.contains(needle, regex=False)
    return frame[mask]


def jobs_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["created"] = pd.to_datetime(out["created_at"], unit="s", utc=True)
    out["duration"] = pd.to_timedelta(out["duration_seconds"], unit="s")
    out["run_link"] = out["run_link"].where(out["run_link"].fillna("").str.startswith("http"), None)
    # the Problem column (a job's wrongly-typed fields) only when a shown job has one
    columns = [c for c in COLUMNS if c != "problem" or out[c].notna().any()]
    return out[columns].rename(columns=COLUMNS)
