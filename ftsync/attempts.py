"""Crash safety for writing runs: a killed sync leaves nothing that a later one would log twice.

Before a job's run is opened, the ledger gets an attempt row (with, offline, the job's run folders
that exist already); the row goes in the same transaction that records the outcome. A row still
there when the job is next synced means that sync was killed (or could not record its outcome):
the run folders it made offline are removed, and the job resumes from what the ledger confirmed.
So each of a job's offline folders is one confirmed part of its run, and every step is in exactly
one of them. Online, W&B itself drops steps a resumed run already has.

Everything here runs under the job's lock (ftsync.locks), so no other sync is writing that job.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .ledger import Attempt, Ledger
from .settings import WandbSettings


def run_folders(runs_dir: Path, run_id: str) -> list[str]:
    """The offline run folders of one run (`offline-run-<time>-<run id>`), by name."""
    base = Path(runs_dir)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.glob(f"offline-run-*-{run_id}") if p.name.endswith(f"-{run_id}"))


def runs_dir(ws: WandbSettings) -> Path:
    """Where wandb puts offline run folders for these settings."""
    return ws.run_dir / "wandb"


def begin(ledger: Ledger, ws: WandbSettings, job_id: str) -> None:
    entity, project = ws.scope
    attempt = Attempt(entity, project, job_id, time.time())
    if ws.offline:
        attempt.runs_dir = str(runs_dir(ws))
        attempt.known = run_folders(runs_dir(ws), job_id)
    ledger.begin_attempt(attempt)


def discard(ledger: Ledger, ws: WandbSettings, job_id: str) -> list[str]:
    """Remove the run folders of an unfinished attempt at this job (a killed or failed sync), and
    the attempt itself; returns the folders removed."""
    entity, project = ws.scope
    attempt = ledger.attempt(entity, project, job_id)
    if attempt is None:
        return []
    removed = []
    if attempt.runs_dir:
        base = Path(attempt.runs_dir)
        for name in run_folders(base, job_id):
            if name not in attempt.known:
                shutil.rmtree(base / name, ignore_errors=True)
                removed.append(str(base / name))
    ledger.end_attempt(entity, project, job_id)
    return removed
