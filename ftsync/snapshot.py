"""A job and everything about it, as plain data: what the source reads and the sink writes.

Neither side knows the other: a test can build a snapshot by hand and check what the sink
writes, and the dashboard can show one without W&B.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .ids import SHOWN, shown, valid_job_id
from .results import empty_metrics

TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")


@dataclass
class DatasetRef:
    """A training or validation file of a job, fetched to the local cache (or why not)."""

    role: str  # train | valid
    file_id: str
    path: Path | None = None
    filename: str | None = None
    bytes: int | None = None
    error: str | None = None

    @property
    def artifact_name(self) -> str:
        return f"{self.role}-{self.file_id}"


@dataclass
class JobSnapshot:
    job: dict[str, Any]  # the job object, JSON-safe
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # by step
    metrics: pd.DataFrame = field(default_factory=empty_metrics)
    datasets: list[DatasetRef] = field(default_factory=list)
    events_read: bool = True  # False: events and checkpoints were not asked for (sync --no-events)

    @property
    def id(self) -> str:
        return self.job["id"]

    @property
    def status(self) -> str:
        return self.job.get("status") or "unknown"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def method(self) -> str:
        return method_of(self.job)

    @property
    def fingerprint(self) -> str:
        return job_fingerprint(self.job)

    @property
    def last_step(self) -> int:
        return int(self.metrics["step"].max()) if len(self.metrics) else 0


def method_of(job: dict[str, Any]) -> str:
    return ((job.get("method") or {}).get("type")) or "supervised"


def hyperparameters_of(job: dict[str, Any]) -> dict[str, Any]:
    """DPO/RFT jobs keep theirs under `method`; supervised ones at the top level too."""
    method = job.get("method") or {}
    from_method = (method.get(method.get("type") or "supervised") or {}).get("hyperparameters")
    return dict(from_method or job.get("hyperparameters") or {})


def job_fingerprint(job: dict[str, Any]) -> str:
    """Changes when anything a sync writes about the job would change."""
    keys = ("status", "finished_at", "fine_tuned_model", "result_files", "trained_tokens", "error")
    blob = json.dumps({k: job.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def job_to_dict(job: Any) -> dict[str, Any]:
    """An SDK job (pydantic, extras included) as JSON-safe data."""
    if isinstance(job, dict):
        return json.loads(json.dumps(job, default=str))
    # a mistyped field is ours to report (job_problem), once, not pydantic's to warn about on stderr
    return job.model_dump(mode="json", warnings=False)


# ---- the job's types, checked where it comes in -----------------------------------------------------
# FineTuningJob of OpenAI's OpenAPI schema, as checks of the JSON a server sent. What the real API does
# send is no problem: `error: {}` on a healthy job, `hyperparameters: null` (DPO/RFT), any status string
# (`paused`; a new status must not hide a job), fields the schema does not list. Fields ftsync only copies
# into W&B config (object, organization_id, seed, integrations) are not checked: no reader breaks on them.

LATEST_TIME = 7_258_118_400  # 2200-01-01: later is no real time (and pandas' datetimes end in 2262)
Check = Callable[[str, Any], list[str]]  # (the field's path, its value) -> problems


def _short(value: Any) -> str:
    """A value in a problem line: strings quoted and cut (ids.shown), numbers as such, else its kind."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)[:SHOWN]
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return shown(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return (_integer(value) or isinstance(value, float)) and math.isfinite(value)


def _unix_time(value: Any) -> bool:
    return _integer(value) and 0 <= value < LATEST_TIME


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _kind(test: Callable[[Any], bool], expected: str, *, nullable: bool = True) -> Check:
    def check(path: str, value: Any) -> list[str]:
        ok = (value is None and nullable) or (value is not None and test(value))
        return [] if ok else [f"{path} is {_short(value)}, not {expected}"]
    return check


def _obj(fields: dict[str, Check]) -> Check:
    """An object (or null) whose listed fields, when present, pass their checks."""
    def check(path: str, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, dict):
            return [f"{path} is {_short(value)}, not an object"]
        return [p for key, sub in fields.items() if key in value for p in sub(f"{path}.{key}", value[key])]
    return check


_text = _kind(lambda v: isinstance(v, str), "a string")
_setting = _kind(lambda v: isinstance(v, str) or _number(v), "'auto' or a number")  # a hyperparameter
_hyperparameters = _obj({k: _setting for k in ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")})
_method_body = _obj({"hyperparameters": _hyperparameters})


def _method(path: str, value: Any) -> list[str]:
    """`{"type": "dpo", "dpo": {"hyperparameters": {...}}}`: the type names the part that is read."""
    problems = _obj({"type": _text})(path, value)
    if problems or value is None:
        return problems
    kinds = {"supervised", "dpo", "reinforcement", value.get("type") or "supervised"}
    return [p for kind in sorted(kinds) if kind in value for p in _method_body(f"{path}.{kind}", value[kind])]


JOB_FIELDS: dict[str, Check] = {
    "id": _kind(lambda v: isinstance(v, str), "a string", nullable=False),
    "created_at": _kind(_unix_time, "a Unix time", nullable=False),
    "finished_at": _kind(_unix_time, "a Unix time"),
    "estimated_finish": _kind(_unix_time, "a Unix time"),
    "status": _kind(lambda v: isinstance(v, str), "a string", nullable=False),
    "model": _kind(lambda v: isinstance(v, str), "a string", nullable=False),
    "fine_tuned_model": _text,
    "user_provided_suffix": _text,  # not in the schema, but sent by the API and shown by ftsync
    "training_file": _text,
    "validation_file": _text,
    "result_files": _kind(_strings, "a list of strings"),
    "trained_tokens": _kind(lambda v: _integer(v) and 0 <= v < 2**53, "a number of tokens"),  # 2**53: exact in JS
    "hyperparameters": _hyperparameters,
    "method": _method,
    "error": _obj({"code": _text, "message": _text, "param": _text}),
    "metadata": _kind(lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                      "an object of strings"),
}


# FineTuningJobEvent and FineTuningJobCheckpoint, checked the same way where a listing comes in: what
# readers use (times and steps as numbers, metrics and data as objects, the checkpoint's model a string)
_metric = _kind(_number, "a number")
EVENT_FIELDS: dict[str, Check] = {
    "id": _text,
    "created_at": _kind(_unix_time, "a Unix time"),
    "level": _text,
    "message": _text,
    "type": _text,
    "data": _kind(lambda v: isinstance(v, dict), "an object"),
}
CHECKPOINT_FIELDS: dict[str, Check] = {
    "id": _text,
    "created_at": _kind(_unix_time, "a Unix time"),
    "fine_tuned_model_checkpoint": _text,
    "step_number": _kind(lambda v: _integer(v) and v >= 0, "a step number"),
    "metrics": _obj({k: _metric for k in ("step", "train_loss", "train_mean_token_accuracy", "valid_loss",
                                          "valid_mean_token_accuracy", "full_valid_loss",
                                          "full_valid_mean_token_accuracy")}),
}


def item_problem(kind: str, item: dict[str, Any], fields: dict[str, Check]) -> str | None:
    """`checkpoint ftjobcheckpoint-abc: metrics is 'x', not an object`, or None when its types are right."""
    problems = [p for name, check in fields.items() if name in item for p in check(name, item[name])]
    if not problems:
        return None
    name = item.get("id")
    return f"{kind} {shown(name) if isinstance(name, str) else _short(name)}: " + "; ".join(problems)


def _field_problems(job: dict[str, Any]) -> dict[str, list[str]]:
    """Problems by top-level field; a field the server left out is the readers' to default."""
    found = {name: check(name, job[name]) for name, check in JOB_FIELDS.items() if name in job}
    return {name: problems for name, problems in found.items() if problems}


def job_problems(job: dict[str, Any]) -> list[str]:
    """What is wrong with the types of a job (as `job_to_dict` made it), one phrase per field."""
    return [p for problems in _field_problems(job).values() for p in problems]


def job_problem(job: dict[str, Any]) -> str | None:
    """One line naming the job and its wrongly-typed fields, or None when its types are right:
    `job ftjob-abc: created_at is '2024-01-01', not a Unix time`."""
    return _problem_line(job.get("id"), job_problems(job))


def _problem_line(job_id: Any, problems: list[str]) -> str | None:
    if not problems:
        return None
    return f"job {job_id if valid_job_id(job_id) else _short(job_id)}: " + "; ".join(problems)


class JobView(dict):
    """A job as code that shows jobs sees it: every wrongly-typed field is None, and `problems` says
    what was wrong. A dict, so readers keep `job.get(...)`."""

    def __init__(self, job: dict[str, Any], problems: list[str] | None = None):
        super().__init__(job)
        self.problems = problems or []  # job_problems of the job as the server sent it

    @property
    def problem(self) -> str | None:
        """The job_problem line of the job as the server sent it."""
        return _problem_line(self.get("id"), self.problems)


def job_view(job: dict[str, Any]) -> JobView:
    """The one way a job reaches display code (`ftsync jobs`, the dashboard). Idempotent."""
    if isinstance(job, JobView):
        return job
    found = _field_problems(job)
    view = JobView(job, [p for problems in found.values() for p in problems])
    for name in found:
        if name != "id":  # every reader needs an id; list_jobs leaves out jobs without a valid one
            view[name] = None
    return view
