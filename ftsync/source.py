"""Reading OpenAI: every job (auto-paginated), and one job's everything as a JobSnapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

from .errors import AuthError, SourceError, describe_openai_error
from .filecache import FileCache
from .results import metrics_from_events, parse_result_file
from .snapshot import DatasetRef, JobSnapshot, job_to_dict, method_of

PAGE = 100  # the largest page we ask for; the API's own default is 20


def _guard(what: str, call: Callable[[], Any]) -> Any:
    """Run an SDK call; a refused key aborts everything, other failures are this job's."""
    try:
        return call()
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise AuthError(describe_openai_error(exc)) from None
    except openai.OpenAIError as exc:
        raise SourceError(describe_openai_error(exc, what)) from None


def list_jobs(client: openai.OpenAI) -> list[dict[str, Any]]:
    """Every job of the account, newest first (sorted here: the API does not promise an order)."""
    jobs = _guard("listing jobs", lambda: [job_to_dict(j) for j in client.fine_tuning.jobs.list(limit=PAGE)])
    return sorted(jobs, key=lambda j: (j.get("created_at") or 0, j["id"]), reverse=True)


def retrieve_job(client: openai.OpenAI, job_id: str) -> dict[str, Any]:
    return job_to_dict(_guard(f"job {job_id}", lambda: client.fine_tuning.jobs.retrieve(job_id)))


def list_events(client: openai.OpenAI, job_id: str) -> list[dict[str, Any]]:
    """All events, oldest first."""
    events = _guard(f"events of {job_id}", lambda: [
        e.model_dump(mode="json") for e in client.fine_tuning.jobs.list_events(job_id, limit=PAGE)])
    # the API lists newest first; reversed, then a stable sort keeps same-second events in order
    return sorted(events[::-1], key=lambda e: e.get("created_at") or 0)


def list_checkpoints(client: openai.OpenAI, job_id: str) -> list[dict[str, Any]]:
    """Kept checkpoints, by step."""
    items = _guard(f"checkpoints of {job_id}", lambda: [
        c.model_dump(mode="json") for c in client.fine_tuning.jobs.checkpoints.list(job_id, limit=PAGE)])
    return sorted(items, key=lambda c: c.get("step_number") or 0)


def list_files(client: openai.OpenAI, purpose: str = "fine-tune") -> list[dict[str, Any]]:
    """The account's files of one purpose, newest first."""
    files = _guard("listing files", lambda: [f.model_dump(mode="json") for f in client.files.list(purpose=purpose)])
    return sorted(files, key=lambda f: f.get("created_at") or 0, reverse=True)


def fetch_dataset(client: openai.OpenAI, cache: FileCache, role: str, file_id: str) -> DatasetRef:
    """One dataset file into the cache; a missing or broken file is recorded, not raised."""
    ref = DatasetRef(role=role, file_id=file_id)
    try:
        meta = _guard(f"{'training' if role == 'train' else 'validation'} file {file_id}",
                      lambda: client.files.retrieve(file_id))
        ref.filename, ref.bytes = meta.filename, meta.bytes
        ref.path = cache.fetch(client, file_id, expected_size=meta.bytes)
    except SourceError as exc:
        ref.error = str(exc)
    return ref


def fetch_snapshot(client: openai.OpenAI, job: dict[str, Any], cache: FileCache | None,
                   *, log_datasets: bool = True) -> JobSnapshot:
    """Everything about one job. Raises SourceError when its metrics cannot be had."""
    job_id = job["id"]
    snap = JobSnapshot(job=job)
    snap.events = list_events(client, job_id)
    snap.checkpoints = list_checkpoints(client, job_id)
    result_files = job.get("result_files") or []
    if method_of(job) != "reinforcement" and result_files:
        raw = _guard(f"result file {result_files[0]}", lambda: client.files.content(result_files[0]).read())
        snap.metrics = parse_result_file(raw, f"result file {result_files[0]} of {job_id}")
    else:
        # running jobs, and RFT (whose metrics are nested in events), read the metrics events
        snap.metrics = metrics_from_events(snap.events)
    if log_datasets and cache is not None:
        for role, key in (("train", "training_file"), ("valid", "validation_file")):
            if job.get(key):
                snap.datasets.append(fetch_dataset(client, cache, role, job[key]))
    return snap
