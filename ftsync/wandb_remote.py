"""Asking W&B (online) which runs a project holds: one listing per project and sync.

It tells a fresh machine what is synced already (W&B's own logger marks a finished sync with
`summary.status == "succeeded"` on the run whose id is the job id; ftsync writes the same marker),
which runs OpenAI's own integration wrote (tag `openai/finetune`), and which runs the ledger
remembers but W&B no longer has (deleted, or another server or entity).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import AuthError, SinkError, describe_wandb_error
from .settings import WandbSettings
from .wandb_session import explicit_credentials


def wandb_api(settings: WandbSettings, timeout: int = 30) -> Any:
    """A `wandb.Api` for these credentials and this server only (both explicit, never the process's).
    A refused or malformed key raises AuthError; anything else SinkError, each in one line."""
    import wandb

    try:
        with explicit_credentials():
            return wandb.Api(api_key=settings.api_key, timeout=timeout, overrides={"base_url": settings.host})
    except Exception as exc:  # wandb raises its own AuthenticationError, with no status code
        kind, line = describe_wandb_error(exc, settings.host, settings.api_key)
        raise (AuthError if kind in ("rejected", "malformed") else SinkError)(line) from None


@dataclass(frozen=True)
class RemoteRun:
    """A run as W&B's listing shows it."""

    id: str
    path: str  # entity/project/run id
    summary: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def last_step(self) -> int | None:
        """The step its history ends at (None: no history): a resumed run continues after it."""
        step = self.summary.get("_step")
        return int(step) if isinstance(step, (int, float)) and not isinstance(step, bool) else None


def project_runs(settings: WandbSettings) -> Iterator[RemoteRun]:
    """Every run in the project; needs an online key. Summaries and tags come with the listing
    (`lazy=False`), not one query per run."""
    api = wandb_api(settings)
    path = f"{settings.entity}/{settings.project}" if settings.entity else settings.project
    try:
        for run in api.runs(path, per_page=500, lazy=False):
            summary = run.summary_metrics if isinstance(run.summary_metrics, dict) else {}
            tags = tuple(t for t in (run.tags or []) if isinstance(t, str))
            yield RemoteRun(run.id, "/".join(run.path), dict(summary), tags)
    except Exception as exc:  # a missing project is simply empty; anything else is said in one line
        text = str(exc).lower()
        if "not found" in text or "could not find project" in text:
            return
        kind, line = describe_wandb_error(exc, settings.host, settings.api_key)
        raise (AuthError if kind in ("rejected", "malformed") else SinkError)(
            f"cannot list runs of W&B project {path}: {line}") from None
