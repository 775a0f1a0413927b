"""Asking W&B (online) which jobs a project already holds, so a fresh machine does not re-log them.

W&B's own logger marks a finished sync with `summary.status == "succeeded"` on the run whose id
is the job id; ftsync writes the same marker, so projects synced by either are recognised.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def project_runs(settings: WandbSettings) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(run id, summary, run path) of every run in the project; needs an online key. Summaries come
    with the listing (`lazy=False`), not one query per run."""
    api = wandb_api(settings)
    path = f"{settings.entity}/{settings.project}" if settings.entity else settings.project
    try:
        for run in api.runs(path, per_page=500, lazy=False):
            yield run.id, dict(run.summary_metrics or {}), "/".join(run.path)
    except Exception as exc:  # a missing project is simply empty; anything else is said in one line
        text = str(exc).lower()
        if "not found" in text or "could not find project" in text:
            return
        kind, line = describe_wandb_error(exc, settings.host, settings.api_key)
        raise (AuthError if kind in ("rejected", "malformed") else SinkError)(
            f"cannot list runs of W&B project {path}: {line}") from None
