"""Runs as OpenAI's own W&B integration writes them, put on the W&B test backend with the real SDK.

What OpenAI logs for a job created with `integrations=[{"type": "wandb", ...}]` (its API reference
and fine-tuning guide): a run with id = the job id, display name = the integration's `name` or the
job id, tags `openai/finetune`, `openai/<base model>`, `openai/<job id>` and the user's, config
`model, training_file, validation_file, hyperparameters, seed`, and each metrics event's data at
its `step` (so `total_steps` too), as the job runs. Spelled out here, not taken from ftsync.
"""

from __future__ import annotations

from typing import Any

import wandb
from openai import OpenAI

from .conftest import ENTITY, KEY, PROJECT

OPENAI_METRICS = ("train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
                  "full_valid_loss", "full_valid_mean_token_accuracy")


def integration(project: str = PROJECT, entity: str | None = ENTITY, name: str | None = "legal-clauses-v2",
                tags: list[str] | None = None) -> list[dict[str, Any]]:
    """A job's `integrations` as the user asks for them at creation."""
    wandb_settings: dict[str, Any] = {"project": project, "entity": entity, "name": name}
    if tags is not None:
        wandb_settings["tags"] = tags
    return [{"type": "wandb", "wandb": wandb_settings}]


def metrics_events(client: OpenAI, job_id: str) -> list[dict[str, Any]]:
    """The job's metrics events' data, oldest step first."""
    events = [e for e in client.fine_tuning.jobs.list_events(job_id, limit=100) if e.type == "metrics"]
    return sorted((dict(e.data) for e in events), key=lambda d: d["step"])


def seed_openai_run(backend, client: OpenAI, job_id: str, *, upto: int | None = None,
                    tags: list[str] = (), name: str | None = "legal-clauses-v2",
                    entity: str = ENTITY, project: str = PROJECT) -> list[dict[str, Any]]:
    """Write OpenAI's run of the job (its steps up to `upto`: a running job); returns the rows logged."""
    job = client.fine_tuning.jobs.retrieve(job_id)
    rows = [d for d in metrics_events(client, job_id) if upto is None or d["step"] <= upto]
    settings = wandb.Settings(api_key=KEY, base_url=backend.base_url, mode="online", silent=True, console="off",
                              x_disable_stats=True)
    config = {"model": job.model, "training_file": job.training_file, "validation_file": job.validation_file,
              "hyperparameters": job.hyperparameters.model_dump() if job.hyperparameters else None,
              "seed": job.seed}
    run = wandb.init(project=project, entity=entity, id=job_id, name=name or job_id, reinit="create_new",
                     tags=["openai/finetune", f"openai/{job.model}", f"openai/{job_id}", *tags], config=config,
                     settings=settings)
    for data in rows:
        run.log({k: v for k, v in data.items() if k != "step"}, step=data["step"])
    run.finish()
    return rows
