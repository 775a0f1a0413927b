"""Where W&B runs are written: in this process's threads, or in worker processes.

`run.log` is Python work that holds the GIL, so threads write one run at a time however many
cores there are. With `processes > 0` each run is written in one of that many worker processes
(each with its own wandb-core), while this process's threads keep fetching from OpenAI, hold the
job locks and write the ledger: only `write_snapshot` moves, with plain data in and out.
The CLI uses them for large syncs; the dashboard writes in threads (one container, many visitors).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .sink import SinkResult, write_snapshot
from .snapshot import JobSnapshot

AUTO = -1  # SyncOptions.processes: decide from the machine and the work
LARGE_RUN_ROWS = 1000  # rows to log from which a run is written in a worker process


def processes_for(requested: int, jobs: int) -> int:
    """Worker processes to start: as requested, or (AUTO) one per core when there are several jobs
    to write (each costs a second to start, overlapped with fetching, and a wandb-core of its own)."""
    if requested != AUTO:
        return max(0, min(requested, jobs))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, jobs) if cores >= 2 and jobs >= 4 else 0


def _die_with_parent() -> None:
    """A worker outlives no killed sync: it would go on writing a run the next sync re-does.
    (PR_SET_PDEATHSIG would follow the thread that started the worker, not the process.)"""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="ftsync-parent-watch", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle


class Writers:
    """`write(snap, sink, previous, overwrite)`: write_snapshot here, or in a worker process.

    Only a run with many rows to log goes to a worker: a small one is written faster here than
    its data can be sent over (and a worker costs a second to start), so the pool starts with the
    first large run, if any."""

    def __init__(self, processes: int, large: int | None = None):
        self.processes = processes
        self.large = LARGE_RUN_ROWS if large is None else large
        self.pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def __call__(self, snap: JobSnapshot, *args: Any) -> SinkResult:
        if self.processes <= 0 or len(snap.metrics) < self.large:
            return write_snapshot(snap, *args)
        return self._pool().submit(write_snapshot, snap, *args).result()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self.pool is None:
                # spawn, not fork: this process has threads (HTTP, wandb) that a fork would copy mid-flight
                self.pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_die_with_parent)
            return self.pool

    def __enter__(self) -> Writers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
