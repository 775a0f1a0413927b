"""The W&B run OpenAI's own integration writes for a job, as the job object names it.

A job created with `integrations=[{"type": "wandb", "wandb": {"project", "entity"?, "name"?,
"tags"?}}]` gets a run that OpenAI logs live: id = the job id (the API echoes it as `run_id`),
display name = `name` or the job id, tags `openai/finetune`, `openai/<base model>`,
`openai/<job id>` and the user's, config `model, training_file, validation_file,
hyperparameters, seed`, and the job's metrics events at each `step`.

What a server sends here ends up in W&B paths and tags, so it is checked like any id: a malformed
entry is no integration at all (ftsync then writes its own run), never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..ids import valid_job_id

OPENAI_TAG = "openai/finetune"  # the tag that marks a run as OpenAI's (spec; the guide says openai/fine-tuning)
OPENAI_TAGS = (OPENAI_TAG, "openai/fine-tuning")
# what OpenAI puts in its run's config: ftsync adds the rest of the job beside it, never over it
OPENAI_CONFIG_KEYS = ("model", "training_file", "validation_file", "hyperparameters", "seed")
MAX_TAGS, MAX_TAG = 50, 64  # W&B's limits on a run's tags
# W&B entity and project names: no path or URL syntax, no control characters, at most 128 characters
_NAME = re.compile(r"[^/\\#?%:\x00-\x1f\x7f]{1,128}")


@dataclass(frozen=True)
class OpenAIRun:
    """OpenAI's W&B run of a job: where it is (entity None: the default entity of the W&B key the
    OpenAI organisation registered, unknown to ftsync) and what OpenAI set on it."""

    project: str
    entity: str | None
    run_id: str
    name: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """`entity/project/run_id`, or `project/run_id` when the entity is the key's default."""
        return "/".join(p for p in (self.entity, self.project, self.run_id) if p)

    def default_tags(self, model: str | None) -> list[str]:
        """The tags OpenAI gives the run: its three and the user's."""
        tags = [OPENAI_TAG, f"openai/{model}" if model else None, f"openai/{self.run_id}", *self.tags]
        return list(dict.fromkeys(t[:MAX_TAG] for t in tags if t))

    def in_project(self, entity: str | None, project: str) -> bool:
        """Does a sync into entity/project write where this run is? An entity left to a key's default
        on either side is taken to be the same (the W&B listing decides when online)."""
        return self.project == project and (self.entity is None or entity is None or self.entity == entity)


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and _NAME.fullmatch(value) else None


def openai_run_of(job: dict[str, Any]) -> OpenAIRun | None:
    """The job's W&B integration, if it has a well-formed one (the first, should there be several)."""
    integrations = job.get("integrations")
    if not isinstance(integrations, list) or not valid_job_id(job.get("id")):
        return None
    for item in integrations[:5]:  # the API allows 5
        body = item.get("wandb") if isinstance(item, dict) and item.get("type") == "wandb" else None
        if not isinstance(body, dict) or _name(body.get("project")) is None:
            continue
        run_id = body.get("run_id") if valid_job_id(body.get("run_id")) else job["id"]
        tags = body.get("tags") if isinstance(body.get("tags"), list) else []
        clean = tuple(t[:MAX_TAG] for t in tags[:MAX_TAGS] if isinstance(t, str) and t.isprintable() and t)
        name = body.get("name") if isinstance(body.get("name"), str) and body["name"].isprintable() else None
        return OpenAIRun(project=body["project"], entity=_name(body.get("entity")), run_id=run_id,
                         name=name[:128] if name else None, tags=clean)
    return None


def is_openai_run(tags: Any) -> bool:
    """W&B's side of the recognition: a run OpenAI's integration wrote carries its tag."""
    return isinstance(tags, (list, tuple)) and any(t in OPENAI_TAGS for t in tags)
