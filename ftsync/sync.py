"""The one way to sync: plan which jobs, run them in parallel (one lock per job), report per job.

The CLI, the dashboard and `WandbLogger.sync` all call `sync_jobs` with a `SyncOptions`; they
differ only in how they show progress (the `progress` callback) and the report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from . import attempts
from .errors import AuthError, ConfigError, FtsyncError, LedgerError, SourceError
from .filecache import FileCache
from .ids import shown, valid_job_id
from .integration import ENRICH, LeftToOpenAI, gone_from_wandb, plan_run
from .ledger import Ledger, SyncRecord
from .limits import DEFAULT_LIMITS, Limits
from .locks import LockTimeout, file_lock
from .settings import OpenAISettings, WandbSettings, fingerprint, ftsync_home
from .sink import SinkOptions, check_init_kwargs
from .snapshot import (
    TERMINAL_STATUSES,
    JobSnapshot,
    job_fingerprint,
    job_problem,
    job_view,
)
from .source import fetch_snapshot, list_jobs, retrieve_job
from .wandb_offline import upload_command
from .wandb_remote import RemoteRun, project_runs
from .writers import Writers, processes_for

DEFAULT_WORKERS = 4  # W&B run start/finish is mostly waiting on its service: 2x the 2 cores pays off


@dataclass
class SyncOptions:
    openai: OpenAISettings | None = None  # read from the environment when neither this nor client is given
    client: openai.OpenAI | None = None
    wandb: WandbSettings = field(default_factory=WandbSettings.from_env)
    job_ids: list[str] | None = None  # None: every job
    limit: int | None = None  # only the N most recent jobs
    overwrite: bool = False
    wait: bool = False  # wait for running jobs to finish before logging them
    poll_interval: float = 60.0
    wait_timeout: float | None = None
    workers: int = DEFAULT_WORKERS
    log_datasets: bool = True
    log_events: bool = True  # False: no events/checkpoints tables (and no requests for them when avoidable)
    processes: int = 0  # >0: W&B runs are written in that many worker processes; writers.AUTO: decide
    model_artifact_name: str = "model-metadata"
    model_artifact_type: str = "model"
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    home: Path | None = None  # $FTSYNC_HOME
    action: str = "python"  # who asked: cli | dashboard | auto-sync | watch | webhook | python (the ledger's history)
    lock_timeout: float = 900.0
    limits: Limits | None = None  # None: those of `openai` when given, else the defaults
    # asked between jobs: once true, jobs not yet started are left for the next sync (`ftsync watch`
    # on SIGTERM), while those being written are finished
    should_stop: Callable[[], bool] | None = None
    reconcile: bool = True  # online: first learn what W&B has (a watcher does it on its first cycle only)
    # a job whose last sync failed is tried again only this long after, unless it changed status or
    # was asked for by id (a watcher would otherwise fail it, and fill the history, every cycle)
    retry_failed_after: float | None = None

    @property
    def effective_limits(self) -> Limits:
        if self.limits is not None:
            return self.limits
        return self.openai.limits if self.openai is not None else DEFAULT_LIMITS


@dataclass
class JobOutcome:
    job_id: str
    job_status: str
    outcome: str  # synced | partial | failed | skipped
    message: str = ""
    run_path: str | None = None
    steps: int = 0
    seconds: float = 0.0


@dataclass
class Progress:
    job_id: str
    stage: str  # waiting | fetching | logging | done
    finished: int  # jobs finished so far
    total: int
    outcome: JobOutcome | None = None


@dataclass
class SyncReport:
    outcomes: list[JobOutcome]
    offline: bool
    offline_dirs: list[str]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No job failed, and every finished job is complete (a running job synced so far is fine)."""
        return not any(o.outcome == "failed" or (o.outcome == "partial" and o.job_status in TERMINAL_STATUSES)
                       for o in self.outcomes)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def upload_command(self) -> str | None:
        """The exact command that uploads this sync's offline runs later."""
        return upload_command(self.offline_dirs)


ProgressFn = Callable[[Progress], None]


def openai_client(client: openai.OpenAI | None, settings: OpenAISettings | None,
                  limits: Limits | None = None) -> tuple[openai.OpenAI, str]:
    """The client to use and its account fingerprint: the caller's own, else one made from the settings
    (or the environment), whose transport bounds each answer with `limits`; a client made here is the
    caller's to close."""
    if client is not None:
        return client, fingerprint(str(client.api_key), str(client.base_url))
    settings = settings or OpenAISettings.from_env()
    if limits is not None:
        settings = dataclasses.replace(settings, limits=limits)
    return settings.client(), settings.fingerprint


def _client(options: SyncOptions) -> tuple[openai.OpenAI, str]:
    return openai_client(options.client, options.openai, options.effective_limits)


def select_jobs(client: openai.OpenAI, options: SyncOptions) -> tuple[list[dict[str, Any]], list[JobOutcome]]:
    """The jobs to consider, and outcomes for requested ids that are not job ids or do not exist."""
    if options.job_ids:
        jobs, missing = [], []
        ids = list(dict.fromkeys(options.job_ids))

        def one(job_id: str) -> dict[str, Any] | JobOutcome:
            try:
                return retrieve_job(client, job_id)  # checks the id before it goes anywhere
            except AuthError:
                raise
            except FtsyncError as exc:
                label = job_id if valid_job_id(job_id) else shown(job_id)
                return JobOutcome(label, "unknown", "failed", str(exc))

        # at once, not one round trip after another (a refused key still ends everything)
        with ThreadPoolExecutor(max_workers=min(8, len(ids)), thread_name_prefix="ftsync-retrieve") as pool:
            for found in pool.map(one, ids):
                (missing if isinstance(found, JobOutcome) else jobs).append(found)
        return jobs, missing
    jobs = list_jobs(client, options.effective_limits)
    return (jobs[: options.limit] if options.limit is not None else jobs), []


def needs_sync(job: dict[str, Any], record: SyncRecord | None, overwrite: bool) -> bool:
    if overwrite or record is None:
        return True
    # a record learnt from W&B (reconcile) has no fingerprint: W&B's word that it is done is enough
    return not (record.state == "synced" and record.fingerprint in (None, job_fingerprint(job)))


def sync_jobs(options: SyncOptions, progress: ProgressFn | None = None) -> SyncReport:
    """Sync the selected jobs. Raises ConfigError/AuthError before doing anything when the
    options or the OpenAI key are bad; per-job problems end up in the report, not raised."""
    started = time.monotonic()
    if options.limit is not None and options.limit < 1:
        raise ConfigError("the number of jobs to sync must be at least 1")
    if options.workers < 1:
        raise ConfigError("--workers must be at least 1")
    check_init_kwargs(options.init_kwargs)
    if not options.wandb.offline and not options.wandb.api_key:
        raise ConfigError("W&B online mode needs an API key (WANDB_API_KEY); use offline mode to sync without one")
    client, key_fp = _client(options)
    # a client made here is closed here: a watcher syncs every minute for months
    with contextlib.nullcontext() if options.client is not None else client:
        home = Path(options.home) if options.home else ftsync_home()
        ledger = Ledger.in_home(home)
        cache = FileCache(home, key_fp)
        entity, project = options.wandb.scope
        jobs, outcomes = select_jobs(client, options)
        remote: dict[str, RemoteRun] | None = None  # W&B's listing of the project: one request per sync
        if not options.wandb.offline and options.reconcile:
            remote = {run.id: run for run in project_runs(options.wandb)}
            ledger.reconcile(entity, project, remote.values())  # a fresh machine learns what W&B has
        records = ledger.records(entity, project)
        todo = []
        for job in jobs:
            record = records.get(job["id"])
            if gone_from_wandb(record, remote):
                record = None  # deleted in W&B, or another server or entity: the ledger's word is not enough
            if _failed_lately(job, record, options):
                outcomes.append(JobOutcome(job["id"], job.get("status") or "", "skipped", RETRY_LATER,
                                           record.run_path, record.steps_synced))
            elif needs_sync(job, record, options.overwrite):
                todo.append(job)
            else:
                outcomes.append(JobOutcome(job["id"], job.get("status") or "", "skipped", "already synced",
                                           record.run_path, record.steps_synced))
        # finished jobs first, so none waits behind a running one
        todo.sort(key=lambda j: j.get("status") not in TERMINAL_STATUSES)
        total, finished = len(todo), [0]
        sink = SinkOptions(options.wandb, options.log_datasets, options.model_artifact_name,
                           options.model_artifact_type, dict(options.init_kwargs))

        def report(job_id: str, stage: str, outcome: JobOutcome | None = None) -> None:
            if progress:
                progress(Progress(job_id, stage, finished[0], total, outcome))

        stopped: list[LedgerError] = []  # the home (ledger, locks) cannot be written: no job can be recorded

        def one(job: dict[str, Any]) -> JobOutcome:
            if stopped or (options.should_stop is not None and options.should_stop()):
                return JobOutcome(job["id"], job.get("status") or "", "skipped", NOT_TRIED)
            t0 = time.monotonic()
            try:
                outcome = _sync_one(client, job, options, sink, ledger, cache, home, report, write, remote)
            except LedgerError as exc:
                stopped.append(exc)
                raise
            outcome.seconds = time.monotonic() - t0
            finished[0] += 1
            report(job["id"], "done", outcome)
            return outcome

        if todo:
            with Writers(processes_for(options.processes, len(todo))) as write, \
                    ThreadPoolExecutor(max_workers=min(options.workers, len(todo)), thread_name_prefix="ftsync-sync") as pool:
                futures = [pool.submit(one, job) for job in todo]
            if stopped:
                raise stopped[0]
            outcomes += [f.result() for f in futures]
        offline_dirs = sorted({o.run_path for o in outcomes if o.run_path and options.wandb.offline
                               and o.outcome in ("synced", "partial")})
        return SyncReport(outcomes, options.wandb.offline, offline_dirs, time.monotonic() - started)


RETRY_LATER = "failed lately: tried again later"
NOT_TRIED = "not tried: the sync stopped"  # jobs left when the sync stopped (should_stop, LedgerError)


def _failed_lately(job: dict[str, Any], record: SyncRecord | None, options: SyncOptions) -> bool:
    if options.retry_failed_after is None or options.job_ids or record is None or record.state != "failed":
        return False
    unchanged = record.job_status == job_view(job).get("status")
    return unchanged and time.time() - record.updated_at < options.retry_failed_after


def _nothing_new(snap: JobSnapshot, previous: SyncRecord | None, options: SyncOptions) -> bool:
    """A job synced before, unchanged, with no new steps and no missing piece that is now available:
    opening its run again would log nothing, so no run is created."""
    if previous is None or options.overwrite or previous.run_path is None or previous.state == "failed":
        return False
    if previous.fingerprint != snap.fingerprint or snap.last_step > previous.steps_synced:
        return False
    missing = [d for d in snap.datasets if d.artifact_name not in previous.artifacts and not d.error]
    return not missing


def _wait(client: openai.OpenAI, job: dict[str, Any], options: SyncOptions) -> dict[str, Any]:
    deadline = None if options.wait_timeout is None else time.monotonic() + options.wait_timeout
    while job.get("status") not in TERMINAL_STATUSES:
        if deadline is not None and time.monotonic() + options.poll_interval > deadline:
            break  # give up waiting: sync what there is, marked as still running
        time.sleep(options.poll_interval)
        job = retrieve_job(client, job["id"])
    return job


def _sync_one(client: openai.OpenAI, job: dict[str, Any], options: SyncOptions, sink: SinkOptions,
              ledger: Ledger, cache: FileCache, home: Path, report: Callable[..., None],
              write: Writers, remote: dict[str, RemoteRun] | None = None) -> JobOutcome:
    entity, project = options.wandb.scope
    job_id = job["id"]
    try:
        _check_fields(job)  # first: a status of the wrong type would have _wait poll forever
        if options.wait and job.get("status") not in TERMINAL_STATUSES:
            report(job_id, "waiting")
            job = _wait(client, job, options)
            _check_fields(job)
        with file_lock(home, "job", entity, project, job_id, timeout=options.lock_timeout):
            attempts.discard(ledger, options.wandb, job_id)  # what a killed sync left of this job's run
            previous = ledger.get(entity, project, job_id)  # again: another sync may have just done it
            gone = gone_from_wandb(previous, remote)
            if not gone and not needs_sync(job, previous, options.overwrite):
                return JobOutcome(job_id, job.get("status") or "", "skipped", "synced meanwhile elsewhere",
                                  previous.run_path if previous else None)
            plan = plan_run(job, previous, remote, options.wandb, options.overwrite)
            if isinstance(plan, LeftToOpenAI):
                return JobOutcome(job_id, job.get("status") or "", "skipped", plan.message)
            if gone:
                previous = None  # what the ledger says was logged is not on W&B: all of it again
            report(job_id, "fetching")
            snap = fetch_snapshot(client, job, cache, log_datasets=options.log_datasets,
                                  log_events=options.log_events, limits=options.effective_limits)
            if previous is not None and _nothing_new(snap, previous, options):
                problems = "; ".join(d.error for d in snap.datasets if d.error)
                if snap.terminal and problems:  # still incomplete, for the same reason
                    return JobOutcome(job_id, snap.status, "partial", problems, previous.run_path, previous.steps_synced)
                return JobOutcome(job_id, snap.status, "skipped", f"job is {snap.status}: nothing new since the last sync",
                                  previous.run_path, previous.steps_synced)
            report(job_id, "logging")
            attempts.begin(ledger, options.wandb, job_id)
            try:
                result = write(snap, sink, previous, plan)
            except BaseException:
                attempts.discard(ledger, options.wandb, job_id)  # nothing half-written is left to upload
                raise
            state = "synced" if snap.terminal and not result.problems else "partial"
            enriched = plan.mode == ENRICH
            notes = [plan.note, f"added to OpenAI's W&B run {plan.openai_run}" if enriched else None,
                     *result.problems, None if snap.terminal else f"job is {snap.status}: synced so far"]
            message = "; ".join(n for n in notes if n)
            ledger.put(SyncRecord(entity, project, job_id, state, job_status=snap.status,
                                  fingerprint=job_fingerprint(job), run_path=result.run_path, offline=result.offline,
                                  steps_synced=result.steps_synced, artifacts=result.artifacts,
                                  error="; ".join(result.problems) or None,
                                  first_synced_at=previous.first_synced_at if previous else None,
                                  openai_run=plan.openai_run if enriched else None),
                       action=options.action, message=message or None)
            return JobOutcome(job_id, snap.status, state, message, result.run_path, result.steps_synced)
    except LedgerError:
        raise  # the home cannot be written: the whole sync stops (see sync_jobs)
    except (FtsyncError, LockTimeout) as exc:
        message = str(exc)
    except Exception as exc:  # a bug: keep the other jobs going, and say what broke
        message = f"unexpected {type(exc).__name__}: {exc}"
    status = job_view(job).get("status")  # never a value of the wrong type into the ledger
    previous = ledger.get(entity, project, job_id)
    record = previous or SyncRecord(entity, project, job_id, "failed")
    record.state, record.error, record.job_status = "failed", message, status
    ledger.put(record, action=options.action)
    return JobOutcome(job_id, status or "", "failed", message,
                      previous.run_path if previous else None, previous.steps_synced if previous else 0)


def _check_fields(job: dict[str, Any]) -> None:
    """A job with a field of the wrong type is this job's problem, in one line."""
    problem = job_problem(job)
    if problem:
        raise SourceError(problem)
