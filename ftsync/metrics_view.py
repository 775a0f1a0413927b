"""Metrics of several jobs shaped for the dashboard: tidy (long) rows, smoothing, downsampling, tables,
and what the Metrics page says around them: each job's legend name, why it failed, its settings against
its final loss.

Pure pandas/numpy: no streamlit, no altair, so everything here is testable without a browser.

Canonical names (`canonical`): a column becomes a (metric, split) pair, so that train and validation
curves of one metric share a chart and OpenAI's and Azure's spellings merge:

    train_loss                          -> ("loss", "train")
    train_accuracy                      -> ("accuracy", "train")      # OpenAI result file
    train_mean_token_accuracy           -> ("accuracy", "train")      # Azure / events
    valid_mean_token_accuracy           -> ("accuracy", "valid")
    full_valid_loss                     -> ("loss", "full_valid")
    train_mean_reward                   -> ("reward", "train")        # RFT
    full_valid_mean_reward              -> ("reward", "valid")        # RFT: full_valid *is* its valid
    scores/graders/g/train_reward_mean  -> ("scores/graders/g/reward_mean", "train")
    reasoning_tokens_mean               -> ("reasoning_tokens_mean", "other")

The split prefix is read from the last `/` segment, so nested RFT metrics pair up as well. RFT jobs
(any column mentioning "reward") have only train and valid splits: there `full_valid_` means valid.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .results import METRIC_ALIASES
from .snapshot import hyperparameters_of, method_of

LONG_COLUMNS = ["job", "step", "epoch", "metric", "split", "value"]
SERIES_KEYS = ["job", "metric", "split"]

# Longest prefix first: `full_valid_` must win over `valid_`.
_SPLIT_PREFIXES = (("full_valid_", "full_valid"), ("validation_", "valid"), ("valid_", "valid"), ("train_", "train"))
# Base names (split removed) that mean the same metric.
_BASE_NAMES = {"mean_token_accuracy": "accuracy", "accuracy": "accuracy", "mean_reward": "reward", "loss": "loss"}


# --- canonical names and the long frame -------------------------------------------------------------

def is_rft_frame(columns: Iterable[str]) -> bool:
    return any("reward" in str(c) for c in columns)


def canonical(column: str, *, rft: bool = False) -> tuple[str, str]:
    """The (metric, split) of a metrics column; see the module docstring."""
    column = METRIC_ALIASES.get(column, column)
    head, sep, last = column.rpartition("/")
    for prefix, split in _SPLIT_PREFIXES:
        if last.startswith(prefix) and len(last) > len(prefix):
            base = last[len(prefix):]
            if not head:  # only top-level names are renamed; nested ones keep their own words
                base = _BASE_NAMES.get(base, base)
            if rft and split == "full_valid":
                split = "valid"
            return f"{head}{sep}{base}", split
    return column, "other"


def _empty_long() -> pd.DataFrame:
    return pd.DataFrame({"job": pd.Series(dtype="str"), "step": pd.Series(dtype="int64"),
                         "epoch": pd.Series(dtype="float64"), "metric": pd.Series(dtype="str"),
                         "split": pd.Series(dtype="str"), "value": pd.Series(dtype="float64")})


def _series_of(frame: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """Values by (metric, split), sorted by key; two spellings of one metric merge, the first column winning."""
    columns = [c for c in frame.columns if c != "step"]
    rft = is_rft_frame(columns)
    merged: dict[tuple[str, str], np.ndarray] = {}
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
        key = canonical(str(column), rft=rft)
        if key in merged:
            values = np.where(np.isnan(merged[key]), values, merged[key])
        merged[key] = values
    return dict(sorted(merged.items()))


def _tidy_one(job: str, frame: pd.DataFrame, per_epoch: float | None) -> list[tuple[tuple, np.ndarray, np.ndarray]]:
    """One job's series as ((job, metric, split), steps, values) with NaN values dropped."""
    if "step" not in frame.columns or frame.empty:
        return []
    frame = frame.sort_values("step", kind="stable")
    steps = frame["step"].to_numpy(dtype="int64")
    out = []
    for (metric, split), values in _series_of(frame).items():
        present = ~np.isnan(values)
        if present.any():
            out.append(((job, metric, split), steps[present], values[present]))
    return out


def tidy(frames: dict[str, pd.DataFrame], *, steps_per_epoch: dict[str, float] | None = None) -> pd.DataFrame:
    """Metrics frames by job id to one long frame (LONG_COLUMNS), NaN values dropped.

    Rows are sorted by job (in the order given), metric, split, step. `epoch` is step / steps per epoch
    when that is known for the job, NaN otherwise.
    """
    per_epoch = steps_per_epoch or {}
    series = [s for job, frame in frames.items() for s in _tidy_one(str(job), frame, per_epoch.get(job))]
    if not series:
        return _empty_long()
    # Built from numpy arrays and label codes: pandas' melt/map take seconds at a million rows.
    counts = [len(steps) for _, steps, _ in series]
    codes = np.repeat(np.arange(len(series)), counts)
    labels = {name: np.array([key[i] for key, _, _ in series], dtype=object)
              for i, name in enumerate(SERIES_KEYS)}
    divisors = np.array([per_epoch.get(key[0]) or np.nan for key, _, _ in series], dtype="float64")
    steps = np.concatenate([s for _, s, _ in series])
    long = pd.DataFrame({"job": labels["job"][codes], "step": steps, "epoch": steps / divisors[codes],
                         "metric": labels["metric"][codes], "split": labels["split"][codes],
                         "value": np.concatenate([v for _, _, v in series])})
    return long.astype({"job": "str", "metric": "str", "split": "str"})


def _n_epochs(job: dict[str, Any]) -> float | None:
    for source in (hyperparameters_of(job), job.get("hyperparameters") or {}):
        value = source.get("n_epochs")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None  # "auto" before the job resolved it, or missing


def steps_per_epoch(job: dict[str, Any], total_steps: int | None) -> float | None:
    """Steps of one epoch: the job's planned total steps / n_epochs; None when either is unknown.

    `total_steps` should be the planned total (`planned_total_steps`), not the last step seen: a
    cancelled or running job has not reached it.
    """
    n_epochs = _n_epochs(job)
    if not n_epochs or not total_steps or total_steps <= 0:
        return None
    return total_steps / n_epochs


def planned_total_steps(events: list[dict[str, Any]], metrics: pd.DataFrame | None = None) -> int | None:
    """The `total_steps` metrics events announce; else the last step of `metrics` (a finished job)."""
    totals = [e["data"]["total_steps"] for e in events
              if isinstance(e.get("data"), dict) and isinstance(e["data"].get("total_steps"), (int, float))]
    if totals:
        return int(max(totals))
    if metrics is not None and len(metrics) and "step" in metrics.columns:
        return int(metrics["step"].max())
    return None


# --- smoothing and downsampling ---------------------------------------------------------------------

def smooth(long: pd.DataFrame, weight: float) -> pd.DataFrame:
    """Debiased exponential moving average per series, as TensorBoard and W&B draw it.

    s_t = sum_i w^i x_{t-i} / sum_i w^i over the points so far, which is TensorBoard's
    `last = last*w + (1-w)*x; s = last / (1 - w^n)` (pandas' ewm with adjust=True). The unsmoothed
    value goes to `raw`; an already smoothed frame is re-smoothed from `raw`, not compounded. Weight 0
    gives the raw values back. Rows keep their order.
    """
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = long.copy()
    if "raw" not in out.columns:
        out["raw"] = out["value"]
    out["value"] = out["raw"]
    if weight > 0 and len(out):
        alpha = 1.0 - weight
        order = np.argsort(out["step"].to_numpy(), kind="stable")  # each series in step order
        smoothed = out.iloc[order].groupby(SERIES_KEYS, sort=False, dropna=False)["raw"].transform(
            lambda s: s.ewm(alpha=alpha, adjust=True).mean())
        values = np.empty(len(out))
        values[order] = smoothed.to_numpy()
        out["value"] = values  # rows stay in their input order
    return out


def lttb_indices(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """Positions of the `n_out` points Largest-Triangle-Three-Buckets keeps (x sorted ascending).

    First and last points are kept; each bucket in between keeps the point forming the largest
    triangle with the previous pick and the next bucket's mean, so spikes and extremes survive.
    """
    n = len(x)
    if n <= n_out:
        return np.arange(n)
    if n_out < 3:
        raise ValueError(f"LTTB needs at least 3 points out, got {n_out}")
    edges = (np.arange(n_out - 1) * (n - 2) / (n_out - 2)).astype(np.int64) + 1  # bucket starts, + end
    edges[-1] = n - 1
    starts, counts = edges[:-1], np.diff(edges)
    # Bucket means up front; the last bucket's "next" is the final point.
    next_x = np.append((np.add.reduceat(x[:-1], starts) / counts)[1:], x[-1]).tolist()
    next_y = np.append((np.add.reduceat(y[:-1], starts) / counts)[1:], y[-1]).tolist()
    # Buckets as rows of one array; short rows repeat their first point, which argmax never prefers.
    offsets = np.arange(counts.max())
    cols = np.where(offsets < counts[:, None], starts[:, None] + offsets, starts[:, None])
    bx, by = x[cols], y[cols]
    picks = np.empty(n_out, dtype=np.int64)
    picks[0], picks[-1] = 0, n - 1
    ax, ay = float(x[0]), float(y[0])  # python floats: numpy scalars are slow in this loop
    for i in range(n_out - 2):
        p, q = ax - next_x[i], next_y[i] - ay
        # Twice the triangle (a, candidate, next mean), expanded to be linear in the candidate.
        k = int(np.abs(p * by[i] + q * bx[i] - (p * ay + q * ax)).argmax())
        picks[i + 1] = cols[i, k]
        ax, ay = float(bx[i, k]), float(by[i, k])
    return picks


def _series_codes(long: pd.DataFrame) -> np.ndarray:
    """An integer per (job, metric, split); factorising each key is faster than groupby().ngroup()."""
    parts = [pd.factorize(long[key], use_na_sentinel=False)[0] for key in SERIES_KEYS]
    combined = np.ravel_multi_index(parts, [int(p.max()) + 1 for p in parts])
    return pd.factorize(combined)[0]


def downsample(long: pd.DataFrame, max_points: int = 1500) -> pd.DataFrame:
    """At most `max_points` rows per series (job, metric, split), chosen by LTTB over (step, value).

    Shorter series are untouched; rows keep their input order. Smooth first, then downsample.
    """
    if max_points < 3:
        raise ValueError(f"max_points must be at least 3, got {max_points}")
    if len(long) <= max_points:
        return long
    codes = _series_codes(long)
    sizes = np.bincount(codes)
    keep = sizes[codes] <= max_points
    if keep.all():
        return long
    steps = long["step"].to_numpy(dtype="float64")
    values = long["value"].to_numpy(dtype="float64")
    in_order = np.all((np.diff(codes) > 0) | ((np.diff(codes) == 0) & (np.diff(steps) >= 0)))
    order = np.arange(len(long)) if in_order else np.lexsort((steps, codes))  # by series, then step
    ends = np.cumsum(sizes)
    for g in np.flatnonzero(sizes > max_points):
        rows = order[ends[g] - sizes[g]:ends[g]]
        keep[rows[lttb_indices(steps[rows], values[rows], max_points)]] = True
    return long[keep]


def metrics_csv(long: pd.DataFrame) -> bytes:
    """The long frame as UTF-8 CSV, one row per value (job, step, epoch, metric, split, value[, raw]).

    Long rather than wide: jobs with different metrics need no NaN padding and a pivot table or
    `pd.read_csv(...).pivot(...)` gets any wide view back.
    """
    columns = [c for c in [*LONG_COLUMNS, "raw"] if c in long.columns]
    return long[columns].to_csv(index=False).encode("utf-8")


# --- tables -----------------------------------------------------------------------------------------

HYPERPARAMETER_ROWS = ("model", "method", "n_epochs", "batch_size", "learning_rate_multiplier", "beta", "seed",
                       "suffix", "trained_tokens", "status", "training_file", "validation_file")
_JOB_FIELDS = {"model": "model", "seed": "seed", "suffix": "user_provided_suffix", "trained_tokens": "trained_tokens",
               "status": "status", "training_file": "training_file", "validation_file": "validation_file"}


def _cell(value: Any) -> str | None:
    return None if value is None else str(value)


def hyperparameter_table(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    """Jobs side by side: one column per job id, one row per HYPERPARAMETER_ROWS entry.

    Hyperparameters come from `method.<type>.hyperparameters` (DPO/RFT keep them only there), else the
    top level. Method-specific extras (RFT's eval_interval, reasoning_effort, ...) follow as more rows.
    Cells are strings or None: one column mixes numbers and text, which Arrow (st.dataframe) rejects.
    """
    params = [hyperparameters_of(job) for job in jobs]
    extras = sorted({k for p in params for k in p} - set(HYPERPARAMETER_ROWS))
    rows = [*HYPERPARAMETER_ROWS, *extras]
    columns = {}
    for job, hp in zip(jobs, params):
        values = {row: hp.get(row) for row in rows}
        values.update({row: job.get(key) for row, key in _JOB_FIELDS.items()})
        values["method"] = method_of(job)
        columns[job.get("id", f"job {len(columns) + 1}")] = [_cell(values[row]) for row in rows]
    return pd.DataFrame(columns, index=pd.Index(rows, name="field"), dtype=object)


def _utc(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(seconds, errors="coerce"), unit="s", utc=True)


def events_frame(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Events as rows (created_at as UTC datetime, level, type, message), in the order given."""
    frame = pd.DataFrame([{k: e.get(k) for k in ("created_at", "level", "type", "message")} for e in events],
                         columns=["created_at", "level", "type", "message"])
    frame["created_at"] = _utc(frame["created_at"])
    return frame.astype({"level": "str", "type": "str", "message": "str"})


def checkpoints_frame(checkpoints: list[dict[str, Any]]) -> pd.DataFrame:
    """Checkpoints by step: step_number, fine_tuned_model_checkpoint, created_at (UTC), one column per metric.

    Metrics that no checkpoint has (RFT checkpoints list loss as null) are left out.
    """
    base = ["step_number", "fine_tuned_model_checkpoint", "created_at"]
    rows = []
    for c in checkpoints:
        metrics = {k: v for k, v in (c.get("metrics") or {}).items() if k != "step"}
        rows.append({**{k: c.get(k) for k in base}, **metrics})
    frame = pd.DataFrame(rows, columns=base if not rows else None)
    frame = frame.reindex(columns=[*base, *[c for c in frame.columns if c not in base]])
    metric_cols = [c for c in frame.columns if c not in base]
    frame[metric_cols] = frame[metric_cols].apply(pd.to_numeric, errors="coerce")
    frame = frame.drop(columns=[c for c in metric_cols if frame[c].isna().all()])
    frame["created_at"] = _utc(frame["created_at"])
    frame["step_number"] = pd.to_numeric(frame["step_number"], errors="coerce")
    frame = frame.dropna(subset=["step_number"]).astype({"step_number": "int64"})
    return frame.sort_values("step_number", kind="stable").reset_index(drop=True)


def checkpoint_markers(checkpoints: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Checkpoints by job id to the (job, step, model) frame `ui.charts.metrics_chart` marks."""
    rows = [{"job": job, "step": c.get("step_number"), "model": c.get("fine_tuned_model_checkpoint")}
            for job, items in checkpoints.items() for c in items if c.get("step_number") is not None]
    frame = pd.DataFrame(rows, columns=["job", "step", "model"])
    frame["step"] = frame["step"].astype("int64")
    return frame


# --- naming jobs, why they failed, and what their settings gave --------------------------------------

MISSING = "—"  # what a table shows for a missing value (never "None")
HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")


def short_id(job_id: str, tail: int = 5) -> str:
    """`ftjob-…SBgsA`: enough of an id to tell jobs apart in a legend."""
    prefix, _, rest = job_id.partition("-")
    return job_id if len(rest) <= tail + 1 else f"{prefix}-…{rest[-tail:]}"


def job_labels(jobs: Iterable[dict[str, Any]], *, limit: int = 28) -> dict[str, str]:
    """A legend name per job id, in the order given: `suffix · ftjob-…abcde` (the base model without a suffix).

    Names are unique: jobs whose names would clash show more of their id.
    """
    jobs = list(jobs)
    names = {}
    for job in jobs:
        name = str(job.get("user_provided_suffix") or job.get("model") or "job")
        names[job["id"]] = name if len(name) <= limit else name[: limit - 1] + "…"
    for tail in (5, 8, 12, 64):
        labels = {i: f"{n} · {short_id(i, tail)}" for i, n in names.items()}
        if len(set(labels.values())) == len(labels):
            return labels
    return {i: f"{n} · {i}" for i, n in names.items()}


def job_error(job: dict[str, Any]) -> str | None:
    """Why a job failed, from its `error`: "message (code)"; None when it has none (the API sends `error: {}`
    on healthy jobs)."""
    error = job.get("error") or {}
    message, code = error.get("message"), error.get("code")
    if not message and not code:
        return None
    return f"{message} ({code})" if message and code else str(message or code)


def _setting(value: Any) -> float | None:
    """A hyperparameter as a number; "auto" (not yet resolved) and missing ones are None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    return None


def final_losses(long: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Each job's last loss (job, loss) and what it is: "final validation loss" when every job with a loss
    has a validation loss, else "final train loss" for all, so the jobs compare like with like.

    Validation prefers the full validation set (`full_valid`) over the per-step sample (`valid`).
    """
    loss = long[long["metric"] == "loss"]
    value = "raw" if "raw" in loss.columns else "value"
    last = loss.sort_values("step", kind="stable").groupby(["job", "split"], sort=False)[value].last()
    jobs = list(dict.fromkeys(loss["job"]))
    valid = {j: next((last[(j, s)] for s in ("full_valid", "valid") if (j, s) in last.index), None) for j in jobs}
    if jobs and all(v is not None for v in valid.values()):
        return pd.DataFrame({"job": jobs, "loss": [valid[j] for j in jobs]}), "final validation loss"
    train = [last.get((j, "train")) for j in jobs]
    frame = pd.DataFrame({"job": jobs, "loss": train}).dropna(subset=["loss"])
    return frame.reset_index(drop=True), "final train loss"


def settings_vs_loss(jobs: list[dict[str, Any]], long: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The selected jobs' hyperparameters against their final loss, one row per (job, hyperparameter):
    job, parameter, setting, loss, status, method; and the loss's name (see `final_losses`).

    Only numeric settings count ("auto" before the job resolved it does not); a hyperparameter no job
    has (beta outside DPO) has no rows.
    """
    losses, name = final_losses(long)
    by_id = {job["id"]: job for job in jobs}
    rows = []
    for job_id, loss in zip(losses["job"], losses["loss"]):
        job = by_id.get(job_id, {})
        params = hyperparameters_of(job)
        for parameter in HYPERPARAMETERS:
            setting = _setting(params.get(parameter))
            if setting is not None:
                rows.append({"job": job_id, "parameter": parameter, "setting": setting, "loss": float(loss),
                             "status": job.get("status") or "", "method": method_of(job)})
    columns = ["job", "parameter", "setting", "loss", "status", "method"]
    return pd.DataFrame(rows, columns=columns), name


def timeline_events(events: pd.DataFrame, per_type: int = 500) -> pd.DataFrame:
    """The events a timeline draws: at most `per_type` of each type, evenly spread, the first and
    last always kept. A 100,000-step job has an event per step; drawn whole, its chart alone is
    megabytes sent to every browser that opens the page, for points no one can tell apart."""
    if per_type < 2:
        raise ValueError(f"per_type must be at least 2, got {per_type}")
    counts = events.groupby("type", sort=False)["type"].transform("size")
    if not (counts > per_type).any():
        return events
    rank = events.groupby("type", sort=False).cumcount().to_numpy()
    n = counts.to_numpy()
    # the picks are round(j * stride), j = 0 .. per_type - 1: 0 and n - 1 among them
    stride = np.maximum((n - 1) / (per_type - 1), 1.0)
    keep = (n <= per_type) | (np.round(np.round(rank / stride) * stride) == rank)
    return events[keep]


def events_table(events: pd.DataFrame, newest: int = 2000) -> pd.DataFrame:
    """An `events_frame` as the page lists it: the `newest` events, newest first, the message right
    after the time (the column a phone shows), ready for display (`display_frame`)."""
    table = events.iloc[::-1].iloc[:newest][["created_at", "message", "level", "type"]]
    return display_frame(table.rename(columns={"created_at": "time"}).reset_index(drop=True))


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the dashboard shows it: UTC datetimes as "2025-10-19 16:05:09" under a "… (UTC)" header
    (24-hour, whatever the browser's time zone), and missing values as MISSING rather than "None"."""
    out = frame.copy()
    renames = {}
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S")
            renames[column] = f"{column} (UTC)"
        if out[column].isna().any():  # a column with gaps becomes text: Arrow refuses numbers mixed with "—"
            out[column] = [MISSING if pd.isna(v) else (f"{v:.6g}" if isinstance(v, float) else v)
                           for v in out[column]]
    return out.rename(columns=renames)
