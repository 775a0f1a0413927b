"""Syncs that run in a background thread, so they survive page switches and reruns.

The dashboard keeps the `SyncTask` in the user's session and reads it from a timed fragment;
the thread itself never calls Streamlit. A process-wide semaphore bounds how many syncs run at
once, because every user of a hosted app shares one small container.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .sync import JobOutcome, Progress, SyncOptions, SyncReport, sync_jobs

MAX_CONCURRENT_SYNCS = 2
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_SYNCS)  # key-independent: a limit, not data


@dataclass
class SyncTask:
    label: str
    job_ids: list[str]
    state: str = "queued"  # queued | running | done | error
    stages: dict[str, str] = field(default_factory=dict)  # job id -> waiting/fetching/logging/done
    outcomes: dict[str, JobOutcome] = field(default_factory=dict)
    finished: int = 0
    total: int = 0
    error: str | None = None
    report: SyncReport | None = None
    started_at: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else (1.0 if self.state == "done" else 0.0)

    def on_progress(self, p: Progress) -> None:
        self.total = p.total
        self.finished = p.finished
        self.stages[p.job_id] = p.stage
        if p.outcome is not None:
            self.outcomes[p.job_id] = p.outcome


def start_sync(options: SyncOptions, label: str) -> SyncTask:
    """Start syncing in a daemon thread; returns at once with the task to watch."""
    task = SyncTask(label=label, job_ids=list(options.job_ids or []))

    def work() -> None:
        with _slots:
            task.state = "running"
            try:
                task.report = sync_jobs(options, progress=task.on_progress)
                for outcome in task.report.outcomes:
                    task.outcomes.setdefault(outcome.job_id, outcome)
                task.state = "done"
            except Exception as exc:  # FtsyncError: one line; anything else: say what broke
                task.error = str(exc) or type(exc).__name__
                task.state = "error"

    threading.Thread(target=work, name="ftsync-dashboard-sync", daemon=True).start()
    return task
