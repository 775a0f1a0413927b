"""The emulator's account: its files, jobs and models, behind one lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .datagen import FixedLineFile
from .rand import ident
from .timeline import JobPlan

# `shutdown_date` as the models endpoint reports it (the 2026 announcements); a fine-tuned model stops
# answering with its base model
SHUTDOWN_DATES = {
    "gpt-4.1-2025-04-14": "2027-01-14", "gpt-4.1-mini-2025-04-14": "2027-01-14",
    "gpt-4o-2024-08-06": "2027-01-14", "gpt-4o-mini-2024-07-18": "2027-01-14",
    "gpt-4.1-nano-2025-04-14": "2026-10-23", "o4-mini-2025-04-16": "2026-10-23", "gpt-3.5-turbo-0125": "2026-10-23",
    "babbage-002": "2026-10-23", "davinci-002": "2026-10-23",
}
BASE_MODELS = [
    ("gpt-4.1-2025-04-14", 1744416000),
    ("gpt-4.1-mini-2025-04-14", 1744416000),
    ("gpt-4.1-nano-2025-04-14", 1744416000),
    ("gpt-4o-2024-08-06", 1722902400),
    ("gpt-4o-mini-2024-07-18", 1721260800),
    ("gpt-3.5-turbo-0125", 1706140800),
    ("o4-mini-2025-04-16", 1744761600),
    ("babbage-002", 1692634615),
    ("davinci-002", 1692634301),
]


@dataclass
class FileEntry:
    id: str
    filename: str
    purpose: str
    created_at: int
    source: bytes | FixedLineFile
    status: str = "processed"

    @property
    def size(self) -> int:
        return len(self.source) if isinstance(self.source, bytes) else self.source.size

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.source, bytes):
            yield self.source
        else:
            yield from self.source.chunks()


@dataclass
class Workspace:
    """Files and jobs of one emulated account. `now` is the wall clock, injectable for tests."""

    seed: int = 0
    organization_id: str = "org-emulator"
    org_slug: str = "emulator"
    files: dict[str, FileEntry] = field(default_factory=dict)
    jobs: dict[str, JobPlan] = field(default_factory=dict)
    deleted_models: set[str] = field(default_factory=set)
    speed: float = 1.0
    clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)
    # job id -> fields sent in place of the rendered ones: tests make a server mistype a field
    job_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # job id -> fields sent in place of the rendered ones in each of the job's events / checkpoints
    event_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkpoint_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    _job_order: list[str] = field(default_factory=list)  # newest first
    _results: dict[str, str] = field(default_factory=dict)  # result file id -> job id
    _counter: int = 0

    def now(self) -> float:
        return self.clock()

    # ---- ids -----------------------------------------------------------------------------
    def new_id(self, prefix: str, length: int, *parts: object) -> str:
        self._counter += 1
        return prefix + ident(length, self.seed, prefix, self._counter, *parts)

    # ---- files ---------------------------------------------------------------------------
    def add_file(self, filename: str, source: bytes | FixedLineFile, created_at: int,
                 purpose: str = "fine-tune", file_id: str | None = None) -> FileEntry:
        entry = FileEntry(file_id or self.new_id("file-", 22), filename, purpose, created_at, source)
        self.files[entry.id] = entry
        return entry

    def result_file_id(self, plan: JobPlan) -> str:
        return "file-" + ident(22, plan.seed, "result")

    def result_job(self, file_id: str) -> JobPlan | None:
        job_id = self._results.get(file_id)
        return self.jobs.get(job_id) if job_id else None

    # ---- jobs ----------------------------------------------------------------------------
    def add_job(self, plan: JobPlan) -> JobPlan:
        plan.organization_id, plan.org_slug = self.organization_id, self.org_slug
        self.jobs[plan.id] = plan
        self._results[self.result_file_id(plan)] = plan.id
        # keep newest first; ties keep insertion order
        pos = len(self._job_order)
        while pos > 0 and self.jobs[self._job_order[pos - 1]].created_at < plan.created_at:
            pos -= 1
        self._job_order.insert(pos, plan.id)
        return plan

    def job_ids(self) -> list[str]:
        return self._job_order

    def fine_tuned_models(self, now: float) -> Iterator[tuple[str, JobPlan]]:
        for job_id in self._job_order:
            plan = self.jobs[job_id]
            if plan.status(now) == "succeeded" and plan.fine_tuned_model not in self.deleted_models:
                yield plan.fine_tuned_model, plan
