"""Syncs that run in a background thread, so they survive page switches and reruns.

The dashboard keeps the `SyncTask` in the visitor's session and reads it from a timed fragment;
the thread itself never calls Streamlit. Every visitor of a hosted app shares one small
container, so a process-wide `FairScheduler` bounds how many syncs run at once, and how many of
them one account may hold: a visitor whose syncs stall (a slow server) waits behind their own
syncs, never in front of everyone else's.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from .sync import JobOutcome, Progress, SyncOptions, SyncReport, sync_jobs

MAX_CONCURRENT_SYNCS = 3
MAX_SYNCS_PER_ACCOUNT = 1


class FairScheduler:
    """At most `slots` holders at once, and at most `per_account` per account; a free slot goes to the
    longest-waiting request whose account is under its share. Holds no account data, only counts."""

    def __init__(self, slots: int = MAX_CONCURRENT_SYNCS, per_account: int = MAX_SYNCS_PER_ACCOUNT):
        self.slots, self.per_account = slots, per_account
        self._cond = threading.Condition()
        self._running: dict[str, int] = {}
        self._waiting: list[tuple[int, str]] = []  # (ticket, account), in arrival order
        self._tickets = itertools.count()

    def _eligible(self, account: str) -> bool:
        return (sum(self._running.values()) < self.slots
                and self._running.get(account, 0) < self.per_account)

    def _my_turn(self, ticket: int, account: str) -> bool:
        if not self._eligible(account):
            return False
        # the first waiter that could run now goes first: another account's stalled queue never blocks us
        first = next(t for t, a in self._waiting if self._eligible(a))
        return first == ticket

    def acquire(self, account: str) -> None:
        with self._cond:
            ticket = next(self._tickets)
            self._waiting.append((ticket, account))
            self._cond.wait_for(lambda: self._my_turn(ticket, account))
            self._waiting.remove((ticket, account))
            self._running[account] = self._running.get(account, 0) + 1
            self._cond.notify_all()

    def release(self, account: str) -> None:
        with self._cond:
            self._running[account] -= 1
            if not self._running[account]:
                del self._running[account]
            self._cond.notify_all()

    def running(self, account: str) -> int:
        with self._cond:
            return self._running.get(account, 0)


SCHEDULER = FairScheduler()  # process-wide: a limit, not data


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


def start_sync(options: SyncOptions, label: str, *, account: str,
               scheduler: FairScheduler = SCHEDULER) -> SyncTask:
    """Start syncing in a daemon thread once `scheduler` gives `account` a slot; returns at once."""
    task = SyncTask(label=label, job_ids=list(options.job_ids or []))

    def work() -> None:
        scheduler.acquire(account)
        task.state = "running"
        try:
            task.report = sync_jobs(options, progress=task.on_progress)
            for outcome in task.report.outcomes:
                task.outcomes.setdefault(outcome.job_id, outcome)
            task.state = "done"
        except Exception as exc:  # FtsyncError: one line; anything else: say what broke
            task.error = str(exc) or type(exc).__name__
            task.state = "error"
        finally:
            scheduler.release(account)

    threading.Thread(target=work, name="ftsync-dashboard-sync", daemon=True).start()
    return task
