"""A job and everything about it, as plain data: what the source reads and the sink writes.

Neither side knows the other: a test can build a snapshot by hand and check what the sink
writes, and the dashboard can show one without W&B.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

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
    return job.model_dump(mode="json")
