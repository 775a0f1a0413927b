"""The job list as users see it: each job with its sync state and W&B link.

Shared by `ftsync jobs` and the dashboard's Jobs page, so both say the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .ledger import Ledger, SyncRecord
from .locks import is_locked
from .snapshot import hyperparameters_of, job_fingerprint, job_view, method_of


@dataclass
class JobRow:
    id: str
    suffix: str | None
    model: str
    method: str
    status: str
    created_at: int | None
    finished_at: int | None
    duration_seconds: int | None
    trained_tokens: int | None
    fine_tuned_model: str | None
    n_epochs: Any
    sync_state: str
    synced_steps: int
    run_link: str | None
    sync_error: str | None
    problem: str | None = None  # the job's wrongly-typed fields, as the server sent them (JobView.problems)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_link(record: SyncRecord | None, app_url: str | None = None) -> str | None:
    """A browser link for an online run (under the W&B app of its server), the local folder for an offline one."""
    if record is None or not record.run_path:
        return None
    if record.offline:
        return record.run_path
    parts = record.run_path.split("/")
    if len(parts) == 3 and app_url:
        return f"{app_url.rstrip('/')}/{parts[0]}/{parts[1]}/runs/{parts[2]}"
    return record.run_path


def sync_state(job: dict[str, Any], record: SyncRecord | None, syncing: bool) -> str:
    if syncing:
        return "syncing"
    if record is None:
        return "not synced"
    if record.state == "synced" and record.fingerprint not in (None, job_fingerprint(job)):
        return "outdated"
    return record.state


def job_rows(jobs: list[dict[str, Any]], ledger: Ledger, entity: str, project: str,
             home: Path | None = None, app_url: str | None = None) -> list[JobRow]:
    records = ledger.records(entity, project)
    rows = []
    for raw in jobs:
        job = job_view(raw)  # wrongly-typed fields read as None; the row says what was wrong
        record = records.get(job["id"])
        syncing = home is not None and is_locked(home, "job", entity, project, job["id"])
        created, finished = job.get("created_at"), job.get("finished_at")
        rows.append(JobRow(
            id=job["id"], suffix=job.get("user_provided_suffix") or _suffix(job.get("fine_tuned_model")),
            model=job.get("model") or "", method=method_of(job), status=job.get("status") or "",
            created_at=created, finished_at=finished,
            duration_seconds=(finished - created) if created and finished else None,
            trained_tokens=job.get("trained_tokens"), fine_tuned_model=job.get("fine_tuned_model"),
            n_epochs=hyperparameters_of(job).get("n_epochs"), sync_state=sync_state(raw, record, syncing),
            synced_steps=record.steps_synced if record else 0, run_link=run_link(record, app_url),
            sync_error=record.error if record else None, problem="; ".join(job.problems) or None))
    return rows


def _suffix(model: str | None) -> str | None:
    parts = (model or "").split(":")
    return parts[3] or None if len(parts) >= 5 else None
