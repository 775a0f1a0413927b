"""Reading OpenAI: every job, and one job's everything as a JobSnapshot, within `Limits`.

A server may be hostile or broken, so nothing here trusts it to stop: listings are read page by
page up to limits.pages and limits.items (a cursor seen twice ends them too), the result file is
streamed up to limits.result_bytes, and one job's fetching ends at limits.job_seconds. Ids are
checked (ftsync.ids) before they go into a request, a path or a W&B name. Clients built by
ftsync also bound every single answer (ftsync.transport); a client passed in by a user (the
WandbLogger facade) still gets every bound in this module.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import openai

from .errors import AuthError, LimitExceeded, SourceError, describe_openai_error
from .filecache import FileCache, retry_cut_bodies, stream_content
from .ids import check_file_id, check_job_id, shown, valid_job_id
from .limits import DEFAULT_LIMITS, Deadline, Limits, human_bytes, no_deadline
from .results import metrics_from_events, parse_result_file
from .snapshot import CHECKPOINT_FIELDS, EVENT_FIELDS, DatasetRef, JobSnapshot, item_problem, job_to_dict, method_of

PAGE = 100  # the largest page we ask for; the API's own default is 20

log = logging.getLogger(__name__)


def _guard(what: str, call: Callable[[], Any]) -> Any:
    """Run an SDK call; a refused key aborts everything, other failures are this job's."""
    try:
        return call()
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise AuthError(describe_openai_error(exc)) from None
    except openai.OpenAIError as exc:
        raise SourceError(describe_openai_error(exc, what)) from None
    except SourceError as exc:  # a limit (ours or the transport's), said without saying what was read
        raise type(exc)(f"{what}: {exc}") from None


def _number(value: Any) -> float:
    """A sort key from a field a server may have mistyped."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


class _RawPage:
    """A page of a cursor listing as the server sent it, plain dicts: events and checkpoints are only
    passed on, and building the SDK's objects for them costs more than the round trip (a 100,000-step
    job's events: 12 s through the SDK's objects, 5 s as dicts)."""

    def __init__(self, client: openai.OpenAI, path: str, params: dict[str, Any]):
        body = client.get(path, cast_to=dict, options={"params": params})
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise SourceError("the server's answer is not a page of a listing (no list of objects under \"data\")")
        self.data: list[dict[str, Any]] = data
        self.has_more = body.get("has_more") is True
        self._client, self._path, self._params = client, path, params

    def has_next_page(self) -> bool:
        return self.has_more and bool(self.data)

    def get_next_page(self) -> _RawPage:
        return _RawPage(self._client, self._path, self._params | {"after": _item_id(self.data[-1])})


def _item_id(item: Any) -> str:
    return str(item.get("id") if isinstance(item, dict) else item.id)


def _listing(what: str, first: Callable[[], Any], limits: Limits, deadline: Deadline) -> list[Any]:
    """Every item of a cursor listing, page by page: the SDK's auto-pagination follows `has_more`
    for as long as a server says so; this stops at limits.pages pages, limits.items items, the
    deadline, or a cursor (the last id of a page) seen before."""
    page = _guard(what, first)
    items = list(page.data or [])
    cursors: set[str] = set()
    for pages in itertools.count(1):
        if len(items) > limits.items:
            raise LimitExceeded(f"{what}: more than {limits.items:,} items; the server keeps sending more "
                                "(limits.items)")
        if not page.has_next_page():
            return items
        cursor = _item_id(page.data[-1])
        if cursor in cursors:
            raise SourceError(f"{what}: the server sent the same page again (after {shown(cursor)}); stopped")
        cursors.add(cursor)
        if pages >= limits.pages:
            raise LimitExceeded(f"{what}: more than {limits.pages:,} pages; the server keeps sending more "
                                "(limits.pages)")
        deadline.check()
        page = _guard(what, page.get_next_page)
        items.extend(page.data or [])
    raise AssertionError("unreachable")


def _listing_deadline(limits: Limits, what: str) -> Deadline:
    # an account-wide listing is bounded like one job's fetching: far above what a real one takes
    return Deadline(limits.job_seconds, "job_seconds", what)


def list_jobs(client: openai.OpenAI, limits: Limits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """Every job of the account with a valid id, newest first (sorted here: the API does not
    promise an order). Jobs whose id is not a job id are left out, with one warning."""
    what = "listing jobs"
    items = _listing(what, lambda: client.fine_tuning.jobs.list(limit=PAGE), limits, _listing_deadline(limits, what))
    jobs = [job_to_dict(j) for j in items]
    refused = [j.get("id") for j in jobs if not valid_job_id(j.get("id"))]
    if refused:
        log.warning("%s: left out %d job(s) whose id is not a fine-tuning job id, e.g. %s",
                    what, len(refused), shown(refused[0]))
    jobs = [j for j in jobs if valid_job_id(j.get("id"))]
    return sorted(jobs, key=lambda j: (_number(j.get("created_at")), j["id"]), reverse=True)


def retrieve_job(client: openai.OpenAI, job_id: str) -> dict[str, Any]:
    """One job; SourceError when `job_id` is not a job id or the server answers another job."""
    check_job_id(job_id)
    job = job_to_dict(_guard(f"job {job_id}", lambda: client.fine_tuning.jobs.retrieve(job_id)))
    if job.get("id") != job_id:
        raise SourceError(f"job {job_id}: the server answered with another id ({shown(job.get('id'))})")
    return job


def list_events(client: openai.OpenAI, job_id: str, limits: Limits = DEFAULT_LIMITS,
                deadline: Deadline | None = None) -> list[dict[str, Any]]:
    """All events, oldest first."""
    check_job_id(job_id)
    events = _listing(f"events of {job_id}", lambda: _RawPage(client, f"/fine_tuning/jobs/{job_id}/events", {"limit": PAGE}),
                      limits, deadline or no_deadline())
    _check_items(job_id, "event", events, EVENT_FIELDS)
    # the API lists newest first; reversed, then a stable sort keeps same-second events in order
    return sorted(events[::-1], key=lambda e: _number(e.get("created_at")))


def _check_items(job_id: str, kind: str, items: list[dict[str, Any]], fields: dict[str, Any]) -> None:
    """A wrongly-typed event or checkpoint is the job's problem, in one line (the first one found)."""
    for item in items:
        if problem := item_problem(kind, item, fields):
            raise SourceError(f"job {job_id}: the server sent a {problem}")


def list_checkpoints(client: openai.OpenAI, job_id: str, limits: Limits = DEFAULT_LIMITS,
                     deadline: Deadline | None = None) -> list[dict[str, Any]]:
    """Kept checkpoints, by step."""
    check_job_id(job_id)
    items = _listing(f"checkpoints of {job_id}",
                     lambda: _RawPage(client, f"/fine_tuning/jobs/{job_id}/checkpoints", {"limit": PAGE}),
                     limits, deadline or no_deadline())
    _check_items(job_id, "checkpoint", items, CHECKPOINT_FIELDS)
    return sorted(items, key=lambda c: _number(c.get("step_number")))


def list_files(client: openai.OpenAI, purpose: str = "fine-tune", limits: Limits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """The account's files of one purpose, newest first."""
    what = "listing files"
    items = _listing(what, lambda: client.files.list(purpose=purpose), limits, _listing_deadline(limits, what))
    return sorted((f.model_dump(mode="json") for f in items), key=lambda f: _number(f.get("created_at")), reverse=True)


def read_result_file(client: openai.OpenAI, file_id: str, limits: Limits = DEFAULT_LIMITS,
                     deadline: Deadline | None = None) -> bytes:
    """A result file's bytes, streamed: at most limits.result_bytes are ever held; read again when
    the connection is cut mid-body."""
    deadline = deadline or no_deadline()
    cap = limits.result_bytes

    def read() -> bytes:
        try:
            return b"".join(stream_content(client, file_id, cap, deadline,
                                           f"the server sent more than {human_bytes(cap)} (limits.result_bytes)"))
        except httpx.TransportError:
            raise  # retried by retry_cut_bodies
        except httpx.HTTPError as exc:  # e.g. a corrupt compressed body: retrying gets the same
            raise SourceError(f"download failed ({type(exc).__name__})") from None

    return retry_cut_bodies(client, deadline, "download", read)


def fetch_dataset(client: openai.OpenAI, cache: FileCache, role: str, file_id: str,
                  limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None) -> DatasetRef:
    """One dataset file into the cache; a missing, broken or refused file is recorded, not raised."""
    what = f"{'training' if role == 'train' else 'validation'} file"
    ref = DatasetRef(role=role, file_id=file_id)
    try:
        check_file_id(file_id, what)  # before it goes into a request or a path
        meta = _guard(f"{what} {file_id}", lambda: client.files.retrieve(file_id))
        ref.filename, ref.bytes = meta.filename, meta.bytes
        ref.path = cache.fetch(client, file_id, expected_size=meta.bytes, limits=limits, deadline=deadline)
    except SourceError as exc:
        ref.error = str(exc)
    return ref


def _result_file_id(job: dict[str, Any]) -> str | None:
    files = job.get("result_files") or []
    if not isinstance(files, list):
        raise SourceError(f"job {job['id']}: result_files is not a list")
    return check_file_id(files[0], f"result file of {job['id']}") if files else None


def fetch_snapshot(client: openai.OpenAI, job: dict[str, Any], cache: FileCache | None,
                   *, log_datasets: bool = True, log_events: bool = True,
                   limits: Limits = DEFAULT_LIMITS) -> JobSnapshot:
    """Everything about one job, within limits.job_seconds. Raises SourceError when its metrics
    cannot be had (LimitExceeded when a limit was hit). Without `log_events`, events and
    checkpoints are read only when the metrics come from them (running jobs, RFT)."""
    job_id = check_job_id(job["id"])
    deadline = Deadline(limits.job_seconds, "job_seconds", f"fetching {job_id}")
    try:
        snap = _fetch(client, job, job_id, cache, log_datasets, log_events, limits, deadline)
    except SourceError:
        deadline.check()  # past the deadline, that is the one line to say, whatever was being read
        raise
    deadline.check()  # a download cut off by the job's deadline fails the job, not only that file
    return snap


def _fetch(client: openai.OpenAI, job: dict[str, Any], job_id: str, cache: FileCache | None, log_datasets: bool,
           log_events: bool, limits: Limits, deadline: Deadline) -> JobSnapshot:
    """The job's reads at once, not one after another: at a real API's round trip, a job's events
    pages, result file and dataset downloads then cost the longest of them, not their sum."""
    snap = JobSnapshot(job=job)
    result_id = _result_file_id(job)
    from_result = method_of(job) != "reinforcement" and bool(result_id)
    snap.events_read = log_events or not from_result
    files = [(role, job[key]) for role, key in (("train", "training_file"), ("valid", "validation_file"))
             if log_datasets and cache is not None and job.get(key)]
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"ftsync-fetch-{job_id[-6:]}") as pool:
        events = pool.submit(list_events, client, job_id, limits, deadline) if snap.events_read else None
        checkpoints = pool.submit(list_checkpoints, client, job_id, limits, deadline) if snap.events_read else None
        result = pool.submit(_read_metrics, client, job_id, result_id, limits, deadline) if from_result else None
        datasets = [pool.submit(fetch_dataset, client, cache, role, file_id, limits, deadline) for role, file_id in files]
        # results in the order they were read one by one before: the first failure is the one said
        snap.events = events.result() if events else []
        snap.checkpoints = checkpoints.result() if checkpoints else []
        # running jobs, and RFT (whose metrics are nested in events), read the metrics events
        snap.metrics = result.result() if result else metrics_from_events(snap.events)
        snap.datasets = [d.result() for d in datasets]
    return snap


def _read_metrics(client: openai.OpenAI, job_id: str, result_id: str, limits: Limits, deadline: Deadline):
    what = f"result file {result_id} of {job_id}"
    raw = _guard(what, lambda: read_result_file(client, result_id, limits, deadline))
    return parse_result_file(raw, what)
