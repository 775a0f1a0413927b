"""Asking W&B (online) which jobs a project already holds, so a fresh machine does not re-log them.

W&B's own logger marks a finished sync with `summary.status == "succeeded"` on the run whose id
is the job id; ftsync writes the same marker, so projects synced by either are recognised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import SinkError
from .settings import WandbSettings


def project_runs(settings: WandbSettings) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(run id, summary, run path) of every run in the project; needs an online key."""
    import wandb

    api = wandb.Api(api_key=settings.api_key, timeout=30,
                    overrides={"base_url": settings.base_url} if settings.base_url else {})
    path = f"{settings.entity}/{settings.project}" if settings.entity else settings.project
    try:
        for run in api.runs(path, per_page=500):
            yield run.id, dict(run.summary._json_dict), "/".join(run.path)
    except Exception as exc:  # a missing project is simply empty; anything else is said in one line
        if "not found" in str(exc).lower() or "could not find project" in str(exc).lower():
            return
        raise SinkError(f"cannot list runs of W&B project {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
