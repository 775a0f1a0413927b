"""Syncs that run in a background thread, so they survive page switches and reruns.

The dashboard keeps the `SyncTask` in the visitor's session and reads it from a timed fragment;
the thread itself never calls Streamlit. Every visitor of a hosted app shares one small
container, so a process-wide `FairScheduler` bounds how many syncs run at once, and how many of
them one account may hold: a visitor whose syncs stall (a slow server) waits behind their own
syncs, never in front of everyone else's. A process-wide `SyncRegistry` knows which jobs of each
account a task holds, so two tabs or sessions of one account never start the same job twice.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .catalog import outcome_label
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


class SyncRegistry:
    """The jobs each account has a sync task for (queued or running) in this process. Holds account
    fingerprints and job ids only: no key, no job data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: dict[str, set[str]] = {}

    def claim(self, account: str, job_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Claim the jobs no task of `account` holds; returns (claimed, already being synced)."""
        with self._lock:
            held = self._busy.setdefault(account, set())
            wanted = list(dict.fromkeys(job_ids))
            claimed = [j for j in wanted if j not in held]
            held.update(claimed)
            return claimed, [j for j in wanted if j not in claimed]

    def release(self, account: str, job_ids: Iterable[str]) -> None:
        with self._lock:
            held = self._busy.get(account, set())
            held.difference_update(job_ids)
            if not held:
                self._busy.pop(account, None)

    def busy(self, account: str) -> frozenset[str]:
        """Ids of the account's jobs a task holds right now."""
        with self._lock:
            return frozenset(self._busy.get(account, ()))


REGISTRY = SyncRegistry()  # process-wide, like the jobs themselves: what is being synced, not by whom


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
    def done_jobs(self) -> int:
        """Jobs of the task that are finished: those with nothing to do count as soon as the sync
        has planned (`total` is only what it had to do)."""
        if not self.active:
            return len(self.job_ids)
        return len(self.job_ids) - self.total + self.finished if self.total else 0

    @property
    def fraction(self) -> float:
        return self.done_jobs / len(self.job_ids) if self.job_ids else 1.0

    @property
    def summary(self) -> str:
        """What happened, counted over every job of the task: "3 synced, 1 skipped"."""
        counts = Counter(outcome_label(o.outcome, o.job_status) for o in self.outcomes.values())
        return ", ".join(f"{n} {label}" for label, n in counts.most_common()) or "nothing to do"

    def on_progress(self, p: Progress) -> None:
        self.total = p.total
        self.finished = p.finished
        self.stages[p.job_id] = p.stage
        if p.outcome is not None:
            self.outcomes[p.job_id] = p.outcome


def start_sync(options: SyncOptions, label: str, *, account: str, scheduler: FairScheduler | None = None,
               registry: SyncRegistry | None = None) -> tuple[SyncTask | None, list[str]]:
    """Start syncing `options.job_ids` in a daemon thread once `scheduler` gives `account` a slot;
    returns at once with the task (None if it had nothing to do) and the ids left out because a
    task of the account already holds them."""
    scheduler, registry = scheduler or SCHEDULER, registry or REGISTRY
    claimed, busy = registry.claim(account, options.job_ids or [])
    if not claimed:
        return None, busy
    options = dataclasses.replace(options, job_ids=claimed)
    task = SyncTask(label=label, job_ids=claimed)

    def work() -> None:
        try:
            scheduler.acquire(account)
            task.state = "running"
            try:
                task.report = sync_jobs(options, progress=task.on_progress)
            finally:
                scheduler.release(account)
            for outcome in task.report.outcomes:
                task.outcomes.setdefault(outcome.job_id, outcome)
            state = "done"
        except Exception as exc:  # FtsyncError: one line; anything else: say what broke
            task.error = str(exc) or type(exc).__name__
            state = "error"
        finally:
            registry.release(account, claimed)  # before the task ends: a page that sees it done may sync again
        task.state = state

    threading.Thread(target=work, name="ftsync-dashboard-sync", daemon=True).start()
    return task, busy
