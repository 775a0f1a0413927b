"""The job list as users see it: each job with its sync state and W&B link.

Shared by `ftsync jobs` and the dashboard's Jobs page, so both say the same thing.

Sync states: `not synced`, `syncing`, `synced`, `synced so far` (a job still running, queued or
paused whose run has everything up to now: ftsync resumes it later with only its new steps),
`partial` (a finished job synced without some piece, e.g. a missing file), `outdated` (the job
changed since it was synced, e.g. it finished) and `failed`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import shorten
from .integration import openai_run_of
from .ledger import Ledger, SyncRecord
from .locks import is_locked
from .snapshot import TERMINAL_STATUSES, hyperparameters_of, job_fingerprint, job_view, method_of

SYNCED_SO_FAR = "synced so far"
# Every sync state, in the order a reader scans them: what needs a sync first.
SYNC_STATES = ("not synced", "outdated", "partial", "failed", "syncing", SYNCED_SO_FAR, "synced")
NEEDS_SYNC = ("not synced", "outdated", "partial", "failed")  # what "sync all unsynced" takes


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
    job_error: str | None = None  # why OpenAI failed the job (its `error.message`)
    run_url: str | None = None  # the W&B page of an online run
    offline_run: bool = False  # the run was written offline (uploaded later with `wandb sync`)
    openai_run: str | None = None  # OpenAI's own W&B run of the job (its integration): entity/project/id
    logged_by: str = ""  # whose run holds the job in this project: ftsync | OpenAI | OpenAI + ftsync
    serves_until: str | None = None  # the last day its fine-tuned model answers (ISO date), if announced
    days_left: int | None = None
    deadline_source: str | None = None  # where serves_until comes from
    recorded: int = 0  # examples whose answers `ftsync record` has kept

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_link(record: SyncRecord | None, app_url: str | None = None) -> str | None:
    """A browser link for an online run (under the W&B app of its server), the local folder for an offline one."""
    if record is None or not record.run_path:
        return None
    if record.offline:
        return record.run_path
    return run_url(record, app_url) or record.run_path


def run_url(record: SyncRecord | None, app_url: str | None) -> str | None:
    """The web page of an online run (`entity/project/run_id` under the W&B app), else None."""
    if record is None or record.offline or not record.run_path or not app_url:
        return None
    parts = record.run_path.split("/")
    if len(parts) != 3:
        return None
    return f"{app_url.rstrip('/')}/{parts[0]}/{parts[1]}/runs/{parts[2]}"


def logged_by(job: dict[str, Any], record: SyncRecord | None, entity: str | None, project: str) -> str:
    """Whose W&B run holds the job in this project: OpenAI's (its integration logs the metrics), with
    ftsync's additions once synced, or ftsync's own."""
    if record is not None and record.openai_run:
        return "OpenAI + ftsync"
    theirs = openai_run_of(job)
    if theirs is not None and theirs.in_project(entity, project) and (record is None or not record.run_path):
        return "OpenAI"
    return "ftsync" if record is not None and record.run_path else ""


def sync_state(job: dict[str, Any], record: SyncRecord | None, syncing: bool) -> str:
    if syncing:
        return "syncing"
    if record is None:
        return "not synced"
    if record.state == "failed":
        return "failed"
    if job.get("status") not in TERMINAL_STATUSES:
        return SYNCED_SO_FAR  # nothing more to log until the job moves on; not "unsynced"
    if record.state == "partial" and record.job_status not in TERMINAL_STATUSES:
        return "outdated"  # synced while it ran, and it has finished since
    if record.state == "synced" and record.fingerprint not in (None, job_fingerprint(job)):
        return "outdated"
    return record.state


def outcome_label(outcome: str, job_status: str | None) -> str:
    """A sync outcome as the Jobs page's sync state says it: a running job's `partial` is `synced so far`."""
    if outcome == "partial" and job_status not in TERMINAL_STATUSES:
        return SYNCED_SO_FAR
    return outcome


def needs_sync(rows: Iterable[JobRow]) -> list[str]:
    """Ids of the jobs "sync all unsynced" would sync. A job with a field of the wrong type is left
    out: its sync would fail until the server sends it right; so is a running job OpenAI logs live."""
    return [r.id for r in rows if r.sync_state in NEEDS_SYNC and not r.problem and not left_to_openai(r)]


def left_to_openai(row: JobRow) -> bool:
    """A running job whose run OpenAI's integration logs live here: a sync would skip it until it ends."""
    return row.logged_by == "OpenAI" and row.status not in TERMINAL_STATUSES


def job_rows(jobs: list[dict[str, Any]], ledger: Ledger, entity: str, project: str,
             home: Path | None = None, app_url: str | None = None, busy: Collection[str] = (),
             shutdowns: dict[str, Any] | None = None, account: str | None = None) -> list[JobRow]:
    """Each job with its sync state; `busy`: ids a sync has claimed but may not have locked yet (queued);
    `shutdowns`: the models endpoint's shutdown dates (else the announced ones apply); `account`: whose
    recorded answers count."""
    from .record import store
    from .record.deadlines import deadline

    records = ledger.records(entity, project)
    recorded = store.recorded(ledger, account) if account else {}
    named = entity if entity and not entity.startswith("~") else None  # "~…" stands for a key's default entity
    rows = []
    for raw in jobs:
        job = job_view(raw)  # wrongly-typed fields read as None; the row says what was wrong
        record = records.get(job["id"])
        syncing = job["id"] in busy or (home is not None and is_locked(home, "job", entity, project, job["id"]))
        created, finished = job.get("created_at"), job.get("finished_at")
        rows.append(JobRow(
            id=job["id"], suffix=job.get("user_provided_suffix") or _suffix(job.get("fine_tuned_model")),
            model=job.get("model") or "", method=method_of(job), status=job.get("status") or "",
            created_at=created, finished_at=finished,
            duration_seconds=(finished - created) if created and finished else None,
            trained_tokens=job.get("trained_tokens"), fine_tuned_model=job.get("fine_tuned_model"),
            n_epochs=hyperparameters_of(job).get("n_epochs"), sync_state=sync_state(raw, record, syncing),
            synced_steps=record.steps_synced if record else 0, run_link=run_link(record, app_url),
            sync_error=record.error if record else None, problem="; ".join(job.problems) or None,
            job_error=_job_error(job), run_url=run_url(record, app_url) or _openai_url(raw, named, project, app_url),
            offline_run=bool(record and record.offline and record.run_path),
            openai_run=(record.openai_run if record and record.openai_run else None) or _openai_path(raw),
            logged_by=logged_by(raw, record, named, project), recorded=recorded.get(job["id"], 0)))
        model = job.get("fine_tuned_model")
        if isinstance(model, str):
            until = deadline(model, (shutdowns or {}).get(model))
            row = rows[-1]
            row.serves_until = until.until.isoformat() if until.until else None
            row.days_left, row.deadline_source = until.days_left(), until.source
    return rows


def _openai_url(job: dict[str, Any], entity: str | None, project: str, app_url: str | None) -> str | None:
    """The page of OpenAI's run of a job not synced yet, when it is in this project and its entity is named."""
    theirs = openai_run_of(job)
    if theirs is None or not app_url or not theirs.entity or not theirs.in_project(entity, project):
        return None
    return f"{app_url.rstrip('/')}/{theirs.entity}/{theirs.project}/runs/{theirs.run_id}"


def _openai_path(job: dict[str, Any]) -> str | None:
    theirs = openai_run_of(job)
    return theirs.path if theirs else None


def _job_error(job: dict[str, Any]) -> str | None:
    """A failed job's `error.message` (other jobs carry `error: {}` or null)."""
    error = job.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return shorten(message) if isinstance(message, str) and message.strip() else None


def _suffix(model: str | None) -> str | None:
    parts = (model or "").split(":")
    return parts[3] or None if len(parts) >= 5 else None


def pending_uploads_of(run_dir: Path, job_ids: Collection[str]) -> dict[str, list[str]]:
    """The offline run folders of these jobs not uploaded yet, by job id (a resumed run has a folder
    per part, oldest first: `wandb sync` replays them in that order)."""
    from .wandb_offline import pending_uploads

    folders: dict[str, list[str]] = {}
    for run in pending_uploads(run_dir):
        if run.run_id in job_ids:
            folders.setdefault(run.run_id, []).append(str(run.path))
    return folders
