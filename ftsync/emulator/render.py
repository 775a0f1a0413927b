"""API objects (jobs, events, checkpoints, files, models) rendered from plans at a moment.

Two fidelity modes:
- "realistic": what the real API sends, quirks included (`error: {}` on healthy jobs, status
  `paused`, `data: null` on "Fine-tuning job started", `hyperparameters: null` for DPO/RFT, extra
  fields such as `user_provided_suffix`, `usage_metrics`, `shared_with_openai`).
- "spec": every payload validates against the OpenAPI schemas (a paused job reads `queued`,
  the closest status the spec knows).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import threading
from collections import OrderedDict
from typing import Any

from . import metrics
from .rand import ident
from .timeline import JobPlan
from .workspace import FileEntry, Workspace

MODES = ("realistic", "spec")
RESULT_ENCODINGS = ("base64", "plain")


@dataclass(frozen=True)
class Event:
    """One event, cheap to list; rendered to JSON only when it lands on a page."""

    ordinal: int
    at: float
    message: str
    kind: str = "message"  # message | metrics
    level: str = "info"
    step: int = 0  # for metrics events
    null_data: bool = False


def _hyper_view(plan: JobPlan, resolved: bool) -> dict[str, Any]:
    if resolved:
        return dict(plan.hyperparameters)
    return {k: plan.requested.get(k, "auto") for k in plan.hyperparameters}


def job_object(ws: Workspace, plan: JobPlan, now: float, mode: str) -> dict[str, Any]:
    status = plan.status(now)
    resolved = status not in ("validating_files", "queued") or plan.steps_done(now) > 0
    hyper = _hyper_view(plan, resolved)
    finished = plan.finished_at(now)
    succeeded = status == "succeeded"
    if status == "failed":
        error: dict[str, Any] | None = dict(plan.error or {})
    else:
        error = {} if mode == "realistic" else None
    sft_keys = ("n_epochs", "batch_size", "learning_rate_multiplier")
    if plan.method == "supervised":
        top_hyper: dict[str, Any] | None = hyper
    elif mode == "spec":
        top_hyper = {k: hyper[k] for k in sft_keys if k in hyper}
    else:
        top_hyper = None
    method: dict[str, Any] = {"type": plan.method, plan.method: {"hyperparameters": hyper}}
    if plan.method == "reinforcement":
        method[plan.method]["grader"] = plan.grader
    if mode == "spec" and status == "paused":
        status = "queued"
    obj: dict[str, Any] = {
        "object": "fine_tuning.job",
        "id": plan.id,
        "model": plan.model,
        "created_at": int(plan.created_at),
        "finished_at": int(finished) if finished is not None else None,
        "fine_tuned_model": plan.fine_tuned_model if succeeded else None,
        "organization_id": plan.organization_id,
        "result_files": [ws.result_file_id(plan)] if succeeded else [],
        "status": status,
        "validation_file": plan.validation_file,
        "training_file": plan.training_file,
        "hyperparameters": top_hyper,
        "trained_tokens": plan.tokens_per_epoch * plan.n_epochs if succeeded else None,
        "error": error,
        "seed": plan.user_seed,
        "estimated_finish": int(plan.planned_end) if status == "running" else None,
        "integrations": _integrations(plan, mode),
        "metadata": plan.metadata,
        "method": method,
    }
    if mode == "realistic":
        obj["user_provided_suffix"] = plan.suffix
        obj["usage_metrics"] = None
        obj["shared_with_openai"] = False
    obj.update(ws.job_overrides.get(plan.id, {}))
    return obj


def _integrations(plan: JobPlan, mode: str) -> list[dict[str, Any]] | None:
    """As the API echoes them: the W&B settings asked for, with the run's id (= the job id, as the
    API reference's example shows) and the entity left to the key's default as null."""
    if not plan.integrations:
        return [] if mode == "realistic" else None
    out = []
    for item in plan.integrations:
        wandb = item.get("wandb") if isinstance(item, dict) else None
        if isinstance(wandb, dict):
            item = {**item, "wandb": {"entity": None, **wandb, "run_id": plan.id}}
        out.append(item)
    return out


# ---- events ----------------------------------------------------------------------------------

def events(plan: JobPlan, now: float) -> list[Event]:
    """Every event visible at `now`, oldest first."""
    out: list[Event] = []

    def add(at: float, message: str, **kw: Any) -> None:
        if at <= now:
            out.append(Event(len(out), at, message, **kw))

    add(plan.created_at, f"Created fine-tuning job: {plan.id}")
    files = f"Validating training file: {plan.training_file}"
    if plan.validation_file:
        files += f" and validation file: {plan.validation_file}"
    add(plan.created_at + 0.5, files)
    status = plan.status(now)
    if plan.error and plan.fail_step == 0:
        add(plan.validated_at, plan.error.get("message", "Validation failed"), level="error")
        add(plan.validated_at, "The job failed", level="error")
        return out
    add(plan.validated_at, "Files validated, moving job to queued state")
    add(plan.started_at, "Fine-tuning job started", null_data=True)
    done = plan.steps_done(now)
    epoch_ends = set(plan.epoch_end_steps()[:-1])
    pauses = sorted((p for p in plan.pauses), key=lambda p: p[0])
    pause_i = 0
    for step in range(1, done + 1):
        at = plan.step_time(step)
        while pause_i < len(pauses) and pauses[pause_i][0] < at:
            add(pauses[pause_i][0], "Fine-tuning job paused")
            if pauses[pause_i][1] is not None:
                add(pauses[pause_i][1], "Fine-tuning job resumed")
            pause_i += 1
        add(at, "", kind="metrics", step=step)
        if step in epoch_ends and plan.method != "reinforcement":
            add(at, f"Checkpoint created at step {step} with Snapshot ID: {plan.checkpoint_model(step)}")
    for paused_at, resumed_at in pauses[pause_i:]:
        add(paused_at, "Fine-tuning job paused")
        if resumed_at is not None:
            add(resumed_at, "Fine-tuning job resumed")
    if status == "succeeded":
        end = plan.planned_end
        add(end, f"New fine-tuned model created: {plan.fine_tuned_model}")
        add(end, "Evaluating model against our usage policies")
        add(end, "Usage policy evaluations completed, model is now enabled for sampling")
        add(end, "The job has successfully completed")
    elif status == "failed":
        add(plan.planned_end, (plan.error or {}).get("message", "The job failed"), level="error")
        add(plan.planned_end, "The job failed", level="error")
    elif status == "cancelled":
        add(plan.cancelled_at or now, "Fine-tuning job cancelled")
    return out


def event_id(plan: JobPlan, ordinal: int) -> str:
    return "ftevent-" + ident(24, plan.seed, "event", ordinal)


def event_object(plan: JobPlan, ev: Event, mode: str) -> dict[str, Any]:
    data: dict[str, Any] | None
    message = ev.message
    if ev.kind == "metrics":
        data = metrics.step_metrics(plan, ev.step)
        message = metrics.event_message(plan, data)
    else:
        data = None if (ev.null_data and mode == "realistic") else {}
    return {
        "object": "fine_tuning.job.event",
        "id": event_id(plan, ev.ordinal),
        "created_at": int(ev.at),
        "level": ev.level,
        "message": message,
        "data": data,
        "type": ev.kind,
    }


# ---- checkpoints -----------------------------------------------------------------------------

def checkpoints(plan: JobPlan, now: float) -> list[dict[str, Any]]:
    """Kept checkpoints, newest first: SFT/DPO the last 3 epochs, RFT the 3 best validations."""
    done = plan.steps_done(now)
    succeeded = plan.status(now) == "succeeded"
    if plan.method == "reinforcement":
        steps = [s for s in range(1, done + 1) if plan.is_valid_step(s)]
        steps = sorted(steps, key=lambda s: -metrics.checkpoint_metrics(plan, s).get("valid_reward_mean", 0.0))[:3]
    else:
        steps = [s for s in plan.epoch_end_steps() if s <= done][-3:]
    out = []
    for step in sorted(steps, reverse=True):
        final = succeeded and step == plan.total_steps
        if step == plan.total_steps and not succeeded:
            continue  # the last epoch's checkpoint is the model itself, made at success
        out.append({
            "object": "fine_tuning.job.checkpoint",
            "id": "ftckpt_" + ident(24, plan.seed, "ckpt", step),
            "created_at": int(plan.step_time(step)),
            "fine_tuned_model_checkpoint": plan.fine_tuned_model if final else plan.checkpoint_model(step),
            "fine_tuning_job_id": plan.id,
            "metrics": metrics.checkpoint_metrics(plan, step),
            "step_number": step,
        })
    return out


# ---- files and models ------------------------------------------------------------------------

def file_object(entry: FileEntry, mode: str) -> dict[str, Any]:
    obj = {
        "object": "file",
        "id": entry.id,
        "purpose": entry.purpose,
        "filename": entry.filename,
        "bytes": entry.size,
        "created_at": entry.created_at,
        "status": entry.status,
    }
    if mode == "realistic":
        obj["status_details"] = None  # real files carry it as null; the spec types it as a string
    return obj


_RESULT_CACHE: OrderedDict[tuple[int, str, int, int, str], bytes] = OrderedDict()
_RESULT_CACHE_LOCK = threading.Lock()


def result_content(plan: JobPlan, encoding: str) -> bytes:
    """A succeeded job's result file: base64 of the CSV (today's API) or the plain CSV.

    Rendered once per (job, encoding) and kept in a small LRU, because a client reads the
    file's size (`files.retrieve`) and then its content.
    """
    # the plan object itself is part of the key: two workspaces in one process (tests, benchmarks)
    # reuse job ids for jobs of other sizes, and must not be served each other's files
    key = (id(plan), plan.id, plan.seed, plan.total_steps, encoding)
    with _RESULT_CACHE_LOCK:
        if key in _RESULT_CACHE:
            _RESULT_CACHE.move_to_end(key)
            return _RESULT_CACHE[key]
    csv = metrics.result_csv(plan, plan.total_steps).encode()
    content = base64.b64encode(csv) if encoding == "base64" else csv
    with _RESULT_CACHE_LOCK:
        _RESULT_CACHE[key] = content
        while len(_RESULT_CACHE) > 64:
            _RESULT_CACHE.popitem(last=False)
    return content


def result_file_entry(ws: Workspace, plan: JobPlan, encoding: str) -> FileEntry:
    return FileEntry(ws.result_file_id(plan), "step_metrics.csv", "fine-tune-results",
                     int(plan.planned_end), result_content(plan, encoding))


def model_object(model_id: str, created: int, owned_by: str, shutdown_date: str | None = None) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by,
            "shutdown_date": shutdown_date}
