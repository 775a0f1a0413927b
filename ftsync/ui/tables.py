"""Shaping job rows for the Jobs page: filters and the displayed table.

Pure pandas (no streamlit), so tests check the table a reader gets: what matters first (sync
state, job, status, error, W&B run), times as 24-hour UTC text, and an empty cell, never "None",
where there is nothing to say.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timezone

import pandas as pd
from pandas.io.formats.style import Styler

from ..catalog import SYNC_STATES, SYNCED_SO_FAR, JobRow

# Row field -> column title, in the order shown: a phone sees the first two. Problem (a job's fields of
# the wrong type) is shown only when a shown job has one, Logged by when a job's run is OpenAI's own.
COLUMNS = {"sync_state": "Sync state", "id": "Job", "status": "Status", "logged_by": "Logged by", "error": "Error",
           "problem": "Problem", "wandb": "W&B run", "suffix": "Suffix", "model": "Base model", "method": "Method", "created": "Created",
           "duration": "Duration", "trained_tokens": "Trained tokens", "fine_tuned_model": "Fine-tuned model",
           "serves_until": "Serves until", "recorded": "Answers recorded"}
STATUSES = ("validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled")
METHODS = ("supervised", "dpo", "reinforcement")
FILTERS = {"sync_state": SYNC_STATES, "status": STATUSES, "method": METHODS}  # fixed choices: chips never vanish
SEARCHED = ["id", "suffix", "model", "fine_tuned_model"]
# Text colour of each sync state, so the column reads at a glance (not synced keeps the default).
STATE_COLORS = {"synced": "#1a7f37", SYNCED_SO_FAR: "#0969da", "syncing": "#8250df", "failed": "#cf222e",
                "partial": "#9a6700", "outdated": "#9a6700"}


def rows_frame(rows: list[JobRow]) -> pd.DataFrame:
    """The rows as a frame, with the columns of JobRow even when there is no job."""
    columns = list(JobRow.__dataclass_fields__)
    return pd.DataFrame([r.to_dict() for r in rows], columns=columns)


def filter_jobs(frame: pd.DataFrame, chosen: Mapping[str, Collection[str]], text: str = "") -> pd.DataFrame:
    """Rows matching every non-empty filter and, case-insensitively, the search text."""
    mask = pd.Series(True, index=frame.index)
    for column, values in chosen.items():
        if values:
            mask &= frame[column].isin(list(values))
    if text.strip():
        needle = text.strip().lower()
        hay = frame[SEARCHED].fillna("").astype(str).agg(" ".join, axis=1)
        mask &= hay.str.lower().str.contains(needle, regex=False)
    return frame[mask]


def state_counts(frame: pd.DataFrame) -> str:
    """"2 not synced · 30 synced", in the order of SYNC_STATES."""
    counts = frame["sync_state"].value_counts()
    return " · ".join(f"{counts[s]} {s}" for s in SYNC_STATES if s in counts)


def utc_time(ts: float | None) -> str:
    """A Unix time as `2025-10-19 04:13` (UTC, 24-hour), "" when unknown."""
    if ts is None or pd.isna(ts):
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    """`45 s`, `18 min`, `2 h 05 min`; "" when unknown."""
    if seconds is None or pd.isna(seconds) or seconds < 0:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def wandb_cell(row: pd.Series, online: bool, pending: Collection[str]) -> str:
    """Online: the run's page URL (the column is a link column). Offline: whether the run still
    waits for `wandb sync` (the page shows that command)."""
    if online:
        return row["run_url"] or ""
    if row["offline_run"]:
        return "offline, to upload" if row["id"] in pending else "offline, uploaded"
    return ""


def until_cell(row: pd.Series) -> str:
    """`2027-01-14 (42 days)`, `2026-10-23 (gone)`, or "" without a model or a date."""
    if not isinstance(row["serves_until"], str):
        return ""
    left = row["days_left"]
    return f"{row['serves_until']} ({'gone' if left <= 0 else f'{int(left)} days'})"


def error_cell(row: pd.Series) -> str:
    """What went wrong: why OpenAI failed the job, and why its last sync failed."""
    parts = [row["job_error"]]
    if row["sync_state"] == "failed" and row["sync_error"]:
        parts.append(f"sync: {row['sync_error']}")
    return " · ".join(p for p in parts if isinstance(p, str) and p)


def jobs_table(frame: pd.DataFrame, *, online: bool = False, pending: Collection[str] = ()) -> pd.DataFrame:
    """The table as shown: COLUMNS in order, text cells "" when empty (Problem: None, which the table
    shows empty too). `online`: runs go to a W&B server (the W&B run column holds links); `pending`:
    ids whose offline run is not uploaded yet."""
    out = pd.DataFrame(index=frame.index)
    for field in ("sync_state", "id", "status", "suffix", "model", "method", "fine_tuned_model", "logged_by"):
        out[field] = frame[field].fillna("").astype(str)
    out["error"] = frame.apply(error_cell, axis=1) if len(frame) else ""
    out["problem"] = frame["problem"]
    out["wandb"] = frame.apply(wandb_cell, axis=1, online=online, pending=pending) if len(frame) else ""
    out["created"] = frame["created_at"].map(utc_time)
    out["duration"] = frame["duration_seconds"].map(duration)
    out["trained_tokens"] = pd.to_numeric(frame["trained_tokens"], errors="coerce").astype("Int64")
    out["serves_until"] = frame.apply(until_cell, axis=1) if len(frame) else ""
    out["recorded"] = pd.to_numeric(frame["recorded"], errors="coerce").astype("Int64")
    columns = [c for c in COLUMNS if (c != "problem" or out[c].notna().any())
               # only when some job's run is OpenAI's own (its W&B integration)
               and (c != "logged_by" or out[c].str.contains("OpenAI").any())]
    return out[columns].rename(columns=COLUMNS).reset_index(drop=True)


def styled(table: pd.DataFrame) -> Styler:
    """The shown table with each sync state in its colour (st.dataframe draws a Styler's colours)."""
    def color(state: str) -> str:
        return f"color: {STATE_COLORS[state]}" if state in STATE_COLORS else ""

    return table.style.map(color, subset=[COLUMNS["sync_state"]])
