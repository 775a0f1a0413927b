"""How a job's run is to be written, decided from the job, the ledger and what W&B holds.

The rules (DESIGN.md, W&B output contract) in one place, so the sink only carries them out:
- OpenAI's own run of the job in the project synced into: once the job has ended, ftsync *enriches*
  it (adds what it lacks, never a metric row); while it runs, it is left to OpenAI.
- Otherwise ftsync writes its *own* run (linking OpenAI's, if it is elsewhere): a run W&B already
  holds is resumed, so W&B continues after its last step instead of appending a second copy; an
  overwrite of a run W&B holds rewinds it to step 0 first (`resume_from`).
- A run the ledger remembers but W&B's listing lacks (deleted, another server or entity) is gone:
  the job is written afresh, and the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ledger import SyncRecord
from ..settings import WandbSettings
from ..snapshot import TERMINAL_STATUSES
from ..wandb_remote import RemoteRun
from .openai_run import OpenAIRun, is_openai_run, openai_run_of

OWN, ENRICH = "own", "enrich"
GONE = "its run was gone from W&B: synced again"


@dataclass(frozen=True)
class RunPlan:
    """What the sink does with a job's run (plain data: it travels to writer processes too)."""

    mode: str = OWN  # own: ftsync's complete run | enrich: add to OpenAI's run what it lacks
    overwrite: bool = False  # log everything again (--force / overwrite=True)
    rewind: bool = False  # the run W&B holds is rewound to step 0 first, so every step is there once
    exists: bool = False  # W&B holds the run (online listing): open it resumed, never as a new one
    last_step: int = 0  # where the run W&B holds ends: nothing at or below it is logged again
    openai_run: str | None = None  # OpenAI's run of the job: the one enriched, or the one linked from config
    openai_tags: tuple[str, ...] = ()  # enrich offline: OpenAI's tags, kept beside ours (online W&B has them)
    openai_name: str | None = None  # enrich offline: the display name OpenAI gave its run
    note: str | None = None  # why the job is synced again, for the report


@dataclass(frozen=True)
class LeftToOpenAI:
    """A running job whose metrics OpenAI's integration logs live: nothing is written until it ends."""

    openai_run: str

    @property
    def message(self) -> str:
        return f"OpenAI's W&B integration logs it live into {self.openai_run}; ftsync adds the rest once it ends"


def gone_from_wandb(record: SyncRecord | None, remote: dict[str, RemoteRun] | None) -> bool:
    """The ledger has an online run for the job that W&B's listing does not (None: not listed)."""
    return (remote is not None and record is not None and not record.offline and bool(record.run_path)
            and record.job_id not in remote)


def plan_run(job: dict[str, Any], previous: SyncRecord | None, remote: dict[str, RemoteRun] | None,
             wandb: WandbSettings, overwrite: bool) -> RunPlan | LeftToOpenAI:
    """The plan for one job; `remote` is the project's listing (None offline, or when not listed)."""
    theirs: OpenAIRun | None = openai_run_of(job)
    listed = remote.get(job["id"]) if remote is not None else None
    entity, project = wandb.entity, wandb.project
    if listed is not None and is_openai_run(listed.tags):
        in_project, path = True, listed.path  # W&B's word: OpenAI's run is here
    elif remote is not None:
        in_project = False  # online, W&B's listing decides: not there (yet, or deleted) means ftsync's own run
        path = theirs.path if theirs else None
    else:
        in_project = theirs is not None and theirs.in_project(entity, project)
        path = theirs.path if theirs else None
    named_here = theirs is not None and theirs.in_project(entity, project)
    if (in_project or named_here) and job.get("status") not in TERMINAL_STATUSES:
        return LeftToOpenAI(path or job["id"])  # online and not listed yet: OpenAI creates it when training starts
    note = GONE if gone_from_wandb(previous, remote) else None
    if in_project:
        # offline the run's end is unknown here: the sink puts what it adds after the job's last step
        last = listed.last_step if listed and listed.last_step is not None else 0
        tags = tuple(theirs.default_tags(job.get("model"))) if theirs else ()
        return RunPlan(ENRICH, overwrite=overwrite, exists=listed is not None, last_step=last, openai_run=path,
                       openai_tags=tags, openai_name=(theirs.name if theirs else None) or job["id"], note=note)
    if listed is not None:  # ftsync's own run (or W&B's logger's) that W&B holds
        return RunPlan(OWN, overwrite=overwrite, rewind=overwrite, exists=True, last_step=listed.last_step or 0,
                       openai_run=path, note=note)
    # not listed: online it is not on W&B (a new run); offline (or unlisted) the ledger is all there is
    rewind = overwrite and remote is None and not wandb.offline and previous is not None and not previous.offline \
        and bool(previous.run_path)
    return RunPlan(OWN, overwrite=overwrite, rewind=rewind, exists=rewind, openai_run=path, note=note)

