"""The Home page's numbers: jobs over time by status, how much is synced, the last syncs, recent failures.

Pure pandas (no streamlit, no altair), so tests check it without a page. Input is the `JobRow` dicts of
`catalog.job_rows` and the ledger's history rows.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .metrics_view import MISSING, job_error

# Statuses in the order a stacked bar and its legend show them: outcomes first, then live states.
STATUS_ORDER = ("succeeded", "failed", "cancelled", "running", "paused", "queued", "validating_files")
# Sync states from "done" to "not done"; `catalog.sync_state` yields these.
SYNC_ORDER = ("synced", "partial", "outdated", "syncing", "failed", "not synced")
UTC_MINUTE = "%Y-%m-%d %H:%M"  # 24-hour, and every time on the dashboard is UTC

# An absolute path on the server (POSIX or Windows), but not the path part of a URL.
_PATH = re.compile(r"(?<![\w:/.~-])(?:/|[A-Za-z]:\\)(?:[^\s/\\'\"]+[/\\])+[^\s'\",;)]*")


def jobs_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """`JobRow` dicts as a frame with at least the columns Home reads, even for an account with no jobs."""
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["id", "status", "created_at", "sync_state"])


def period_unit(created: pd.Series) -> str:
    """The bar width that gives a readable number of bars: day (up to a month), week (up to half a year), month."""
    times = pd.to_datetime(pd.to_numeric(created, errors="coerce"), unit="s", utc=True).dropna()
    span = (times.max() - times.min()) if len(times) else pd.Timedelta(0)
    if span <= pd.Timedelta(days=31):
        return "day"
    return "week" if span <= pd.Timedelta(weeks=26) else "month"


def _period_start(times: pd.Series, unit: str) -> pd.Series:
    day = times.dt.floor("D")
    if unit == "day":
        return day
    if unit == "week":  # weeks start on Monday (ISO)
        return day - pd.to_timedelta(day.dt.weekday, unit="D")
    return day - pd.to_timedelta(day.dt.day - 1, unit="D")


def _period_end(start: pd.Series, unit: str) -> pd.Series:
    if unit == "month":
        return start + pd.offsets.MonthBegin(1)
    return start + pd.Timedelta(days=1 if unit == "day" else 7)


def jobs_over_time(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Jobs created per period and status: (frame of period, end (UTC), status, jobs, below, top; the unit).
    `below`/`top` stack a period's statuses from 0 up.

    Jobs whose created_at is unknown (a wrongly-typed field) are left out. Statuses keep STATUS_ORDER,
    unknown ones follow alphabetically.
    """
    unit = period_unit(frame["created_at"])
    times = pd.to_datetime(pd.to_numeric(frame["created_at"], errors="coerce"), unit="s", utc=True)
    known = frame.assign(period=_period_start(times, unit)).dropna(subset=["period"])
    counts = known.groupby(["period", "status"]).size().rename("jobs").reset_index()
    order = {s: i for i, s in enumerate(status_order(counts["status"]))}
    counts = counts.sort_values(["period", "status"], key=lambda c: c.map(order) if c.name == "status" else c)
    counts.insert(1, "end", _period_end(counts["period"], unit))
    counts["top"] = counts.groupby("period")["jobs"].cumsum()  # stacked in status order, from 0 up
    counts["below"] = counts["top"] - counts["jobs"]
    return counts.reset_index(drop=True), unit


def status_order(statuses: pd.Series | list[str]) -> list[str]:
    """The statuses present, in STATUS_ORDER, then any others alphabetically."""
    present = set(statuses)
    return [s for s in STATUS_ORDER if s in present] + sorted(present - set(STATUS_ORDER))


def sync_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Jobs per sync state (state, jobs), in SYNC_ORDER; states no job is in are left out."""
    counts = frame["sync_state"].value_counts()
    states = [s for s in SYNC_ORDER if s in counts] + sorted(set(counts.index) - set(SYNC_ORDER))
    return pd.DataFrame({"state": states, "jobs": [int(counts[s]) for s in states]})


def without_paths(text: object) -> str:
    """`text` with every absolute server path replaced by "[server path]": visitors share the server, not its
    disk. Anything but text (None, NaN) is ""."""
    return _PATH.sub("[server path]", text) if isinstance(text, str) else ""


def utc_minutes(seconds: pd.Series) -> pd.Series:
    """Unix times as "2025-10-19 16:05" (24-hour, UTC); unknown times as MISSING."""
    times = pd.to_datetime(pd.to_numeric(seconds, errors="coerce"), unit="s", utc=True)
    return times.dt.strftime(UTC_MINUTE).fillna(MISSING)


# Who asked for a sync (the ledger's `action`), as Home names it
SYNCED_BY = {"dashboard": "the Sync button", "auto-sync": "auto-sync on Jobs", "watch": "ftsync watch",
             "webhook": "an OpenAI webhook", "cli": "ftsync sync", "python": "WandbLogger.sync",
             "reconcile": "found on W&B"}


def last_synced(done: dict[str, Any] | None) -> str | None:
    """"Last synced 2026-11-26 06:01 UTC by ftsync watch (ftjob-…)" from `Ledger.last_synced()`;
    None when nothing was ever synced."""
    if done is None:
        return None
    when = utc_minutes(pd.Series([done.get("at")])).iloc[0]
    who = SYNCED_BY.get(str(done.get("action")), str(done.get("action")))
    return f"Last synced {when} UTC by {who} ({done.get('job_id')})"


def last_syncs(history: list[dict[str, Any]]) -> pd.DataFrame:
    """The ledger's history rows as Home shows them: when (UTC), job, action, outcome, message (no paths)."""
    frame = pd.DataFrame(history, columns=["at", "job_id", "action", "outcome", "message"])
    return pd.DataFrame({
        "when (UTC)": utc_minutes(frame["at"]),
        "job": frame["job_id"].fillna(MISSING),
        "action": frame["action"].fillna(MISSING),
        "outcome": frame["outcome"].fillna(MISSING),
        "message": [without_paths(m) or MISSING for m in frame["message"]],
    })


def recent_failures(jobs: list[dict[str, Any]], limit: int = 5) -> list[dict[str, Any]]:
    """The newest failed jobs with why they failed: id, suffix, when (UTC), reason (message and code)."""
    failed = [j for j in jobs if j.get("status") == "failed"]
    failed.sort(key=lambda j: j.get("created_at") or 0, reverse=True)
    return [{"id": j["id"], "name": j.get("user_provided_suffix") or j.get("model") or "",
             "when": utc_minutes(pd.Series([j.get("created_at")])).iloc[0],
             "reason": job_error(j) or "no reason given"} for j in failed[:limit]]


def serving_deadlines(rows: list[dict[str, Any]], within_days: int = 60) -> str | None:
    """"3 models stop serving within 60 days, 1 of them recorded: support-v4 (2027-01-14, 42 days), …",
    most urgent first, and how many no longer serve; None when no model's date is near or past."""
    dated = [r for r in rows if r.get("days_left") is not None and r.get("fine_tuned_model")]
    soon = sorted((r for r in dated if 0 < r["days_left"] <= within_days), key=lambda r: r["days_left"])
    gone = sum(1 for r in dated if r["days_left"] <= 0)
    parts = []
    if soon:
        recorded = sum(1 for r in soon if r.get("recorded"))
        named = ", ".join(f"{r.get('suffix') or r['id']} ({r['serves_until']}, {r['days_left']} days)" for r in soon[:3])
        more = f" and {len(soon) - 3} more" if len(soon) > 3 else ""
        parts.append(f"{len(soon)} model{'s' if len(soon) != 1 else ''} stop serving within {within_days} days, "
                     f"{recorded} of them recorded: {named}{more}")
    if gone:
        parts.append(f"{gone} no longer serve{'s' if gone == 1 else ''}")
    return ". ".join(parts) + "." if parts else None
