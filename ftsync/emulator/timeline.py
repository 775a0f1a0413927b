"""A fine-tuning job as a plan in time, and its state at any moment.

A job is stored as its plan (when validation ends, when training starts, how long a step
takes, how it ends) plus the user's interventions (cancel, pause, resume). Status, visible
steps, checkpoints and events at time `now` are all derived from that, so a job advances by the
wall clock without any background thread, and a workspace of thousands of jobs costs nothing
until it is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

RESUME_QUEUE_SECONDS = 2.0  # after resume a real job sits in `queued` briefly


@dataclass
class JobPlan:
    id: str
    seed: int
    model: str
    method: str  # supervised | dpo | reinforcement
    training_file: str
    validation_file: str | None
    n_train: int
    created_at: float
    validated_at: float  # validating_files -> queued
    started_at: float  # queued -> running
    step_seconds: float
    hyperparameters: dict[str, Any]  # resolved values
    requested: dict[str, Any] = field(default_factory=dict)  # what the user asked for ("auto" if absent)
    suffix: str | None = None
    metadata: dict[str, str] | None = None
    user_seed: int = 0
    integrations: list[dict] | None = None
    grader: dict | None = None
    organization_id: str = "org-emulator"
    org_slug: str = "emulator"
    # how it ends: None = succeeds; otherwise fail at `fail_step` (0 = during validation)
    error: dict[str, Any] | None = None
    fail_step: int = 0
    result_columns: str = "openai"  # openai (train_accuracy) | azure (train_mean_token_accuracy, full_valid_*)
    valid_every: int = 10
    tokens_per_epoch: int = 10_000
    # interventions
    cancelled_at: float | None = None
    pauses: list[list[float | None]] = field(default_factory=list)  # [[paused_at, resumed_at|None], ...]

    # ---- shape -----------------------------------------------------------------------------
    @property
    def n_epochs(self) -> int:
        return int(self.hyperparameters.get("n_epochs", 3))

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.n_train / int(self.hyperparameters.get("batch_size", 1))))

    @property
    def total_steps(self) -> int:
        return self.n_epochs * self.steps_per_epoch

    @property
    def model_tail(self) -> str:
        from .rand import ident

        return ident(8, self.seed, "model")

    @property
    def fine_tuned_model(self) -> str:
        return f"ft:{self.model}:{self.org_slug}:{self.suffix or ''}:{self.model_tail}"

    def checkpoint_model(self, step: int) -> str:
        return f"{self.fine_tuned_model}:ckpt-step-{step}"

    @property
    def has_validation(self) -> bool:
        return self.validation_file is not None

    # ---- time ------------------------------------------------------------------------------
    def _pause_spans(self) -> list[tuple[float, float]]:
        """Pauses as [paused_at, back_to_running) in wall time; an open pause never ends."""
        spans = []
        for paused_at, resumed_at in self.pauses:
            end = math.inf if resumed_at is None else resumed_at + RESUME_QUEUE_SECONDS
            spans.append((paused_at, end))
        return spans

    def effective(self, t: float) -> float:
        """Wall time minus the time spent paused: the clock the training steps run on."""
        shift = 0.0
        for start, end in self._pause_spans():
            if t <= start:
                break
            shift += min(t, end) - start
        return t - shift

    def wall(self, eff: float) -> float:
        """Inverse of effective(): when effective time `eff` is reached on the wall clock."""
        shift = 0.0
        for start, end in self._pause_spans():
            if eff + shift <= start:
                break
            shift += end - start
        return eff + shift

    def step_time(self, step: int) -> float:
        """Wall time at which `step` (1-based) completes."""
        return self.wall(self.started_at + step * self.step_seconds)

    @property
    def planned_end(self) -> float:
        """When training would end (fail or success), ignoring cancellation."""
        last = self.fail_step if self.error else self.total_steps
        if self.error and self.fail_step == 0:
            return self.validated_at
        return self.step_time(last)

    # ---- state -----------------------------------------------------------------------------
    def status(self, now: float) -> str:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "cancelled"
        if now < self.validated_at:
            return "validating_files"
        if self.error and self.fail_step == 0:
            return "failed"
        if now < self.started_at:
            return "queued"
        if now >= self.planned_end:
            return "failed" if self.error else "succeeded"
        for paused_at, resumed_at in self.pauses:
            if now >= paused_at and (resumed_at is None or now < resumed_at):
                return "paused"
            if resumed_at is not None and resumed_at <= now < resumed_at + RESUME_QUEUE_SECONDS:
                return "queued"
        return "running"

    def finished_at(self, now: float) -> float | None:
        status = self.status(now)
        if status == "cancelled":
            return self.cancelled_at
        if status in ("succeeded", "failed"):
            return self.planned_end
        return None

    def steps_done(self, now: float) -> int:
        """Training steps completed by `now` (frozen at cancellation)."""
        t = min(now, self.cancelled_at) if self.cancelled_at is not None else now
        if t < self.started_at or (self.error and self.fail_step == 0):
            return 0
        done = int((self.effective(t) - self.started_at) / self.step_seconds + 1e-9)
        cap = self.fail_step if self.error else self.total_steps
        return max(0, min(done, cap))

    def is_valid_step(self, step: int) -> bool:
        return self.has_validation and (step % self.valid_every == 0 or step == self.total_steps)

    def epoch_end_steps(self) -> list[int]:
        return [e * self.steps_per_epoch for e in range(1, self.n_epochs + 1)]

    # ---- interventions (the server holds the lock) ----------------------------------------
    def cancel(self, now: float) -> None:
        self.cancelled_at = now

    def pause(self, now: float) -> None:
        self.pauses.append([now, None])

    def resume(self, now: float) -> None:
        self.pauses[-1][1] = now
