"""OpenAI's W&B integration as the job names it, and the plan for each job's run (ftsync.integration),
as plain data: no server needed."""

from __future__ import annotations

import pytest

from ftsync.catalog import logged_by
from ftsync.integration import ENRICH, GONE, OWN, LeftToOpenAI, RunPlan, openai_run_of, plan_run
from ftsync.ledger import SyncRecord
from ftsync.settings import WandbSettings
from ftsync.wandb_remote import RemoteRun

JOB = "ftjob-abc123"
ONLINE = WandbSettings(api_key="k" * 40, entity="team", project="p", mode="online")
OFFLINE = WandbSettings(entity=None, project="p", mode="offline")


def job(status: str = "succeeded", **wandb) -> dict:
    integrations = [{"type": "wandb", "wandb": {"project": "p", "entity": "team", **wandb}}]
    return {"id": JOB, "status": status, "model": "gpt-4o-mini", "integrations": integrations}


def listed(*tags: str, step: int | None = 120) -> dict[str, RemoteRun]:
    summary = {"_step": step} if step is not None else {}
    return {JOB: RemoteRun(JOB, f"team/p/{JOB}", summary, tags)}


def test_the_integration_as_the_api_echoes_it():
    run = openai_run_of(job(name="v2", tags=["exp-1"], run_id=JOB))
    assert (run.project, run.entity, run.run_id, run.name, run.tags) == ("p", "team", JOB, "v2", ("exp-1",))
    assert run.path == f"team/p/{JOB}"
    assert run.default_tags("gpt-4o-mini") == ["openai/finetune", "openai/gpt-4o-mini", f"openai/{JOB}", "exp-1"]
    assert openai_run_of(job(entity=None)).path == f"p/{JOB}"  # the key's default entity
    assert openai_run_of({"id": JOB, "integrations": []}) is None


@pytest.mark.parametrize("integrations", [
    None, "wandb", [None], [{"type": "other"}], [{"type": "wandb", "wandb": "p"}],
    [{"type": "wandb", "wandb": {"project": "../../etc"}}], [{"type": "wandb", "wandb": {"project": ""}}],
    [{"type": "wandb", "wandb": {"project": 7}}], [{"type": "wandb", "wandb": {"project": "p?x=1"}}],
])
def test_a_malformed_integration_is_none_never_a_crash(integrations):
    assert openai_run_of({"id": JOB, "integrations": integrations}) is None


def test_hostile_fields_are_dropped_or_bounded():
    run = openai_run_of({"id": JOB, "integrations": [{"type": "wandb", "wandb": {
        "project": "p", "entity": "a/b", "run_id": "../x", "name": "x\x1b[2J", "tags": ["ok", 5, "\n", "t" * 99] * 40}}]})
    assert run.entity is None and run.run_id == JOB and run.name is None  # not a name, not an id: left out
    assert len(run.tags) <= 50 and all(len(t) <= 64 and t.isprintable() for t in run.tags)


def test_openais_run_in_the_project_is_enriched_once_the_job_ends():
    plan = plan_run(job(), None, listed("openai/finetune"), ONLINE, overwrite=False)
    assert plan == RunPlan(ENRICH, exists=True, last_step=120, openai_run=f"team/p/{JOB}",
                           openai_tags=("openai/finetune", "openai/gpt-4o-mini", f"openai/{JOB}"), openai_name=JOB)
    assert isinstance(plan_run(job("running"), None, listed("openai/finetune"), ONLINE, False), LeftToOpenAI)
    # online and not listed yet: OpenAI creates the run when training starts
    assert isinstance(plan_run(job("running"), None, {}, ONLINE, False), LeftToOpenAI)
    # offline the job object is all there is
    assert plan_run(job(), None, None, OFFLINE, False).mode == ENRICH
    # W&B alone can say so (a job object without `integrations`)
    bare = {"id": JOB, "status": "succeeded", "model": "m"}
    assert plan_run(bare, None, listed("openai/finetune"), ONLINE, False).mode == ENRICH


def test_elsewhere_or_gone_from_wandb_ftsync_writes_its_own_run_linking_openais():
    other = WandbSettings(api_key="k" * 40, entity="team", project="archive", mode="online")
    plan = plan_run(job(), None, {}, other, overwrite=False)
    assert (plan.mode, plan.openai_run, plan.exists) == (OWN, f"team/p/{JOB}", False)
    # integration says this project, but W&B has no such run (never created, or deleted): ftsync's own
    assert plan_run(job(), None, {}, ONLINE, overwrite=False).mode == OWN


def test_a_run_wandb_holds_is_resumed_or_rewound_never_started_anew():
    plan = plan_run({"id": JOB, "status": "failed"}, None, listed(step=30), ONLINE, overwrite=False)
    assert (plan.mode, plan.exists, plan.rewind, plan.last_step) == (OWN, True, False, 30)
    forced = plan_run({"id": JOB, "status": "succeeded"}, None, listed(step=30), ONLINE, overwrite=True)
    assert forced.rewind and forced.overwrite
    # not listed online: a new run, nothing to rewind
    assert not plan_run({"id": JOB, "status": "succeeded"}, None, {}, ONLINE, overwrite=True).rewind
    # offline: W&B cannot be asked, and nothing is rewound
    assert not plan_run({"id": JOB, "status": "succeeded"}, None, None, OFFLINE, overwrite=True).rewind


def test_a_run_the_ledger_remembers_and_wandb_lacks_is_gone():
    record = SyncRecord("team", "p", JOB, "synced", run_path=f"team/p/{JOB}")
    assert plan_run({"id": JOB, "status": "succeeded"}, record, {}, ONLINE, False).note == GONE
    assert plan_run({"id": JOB, "status": "succeeded"}, record, listed(), ONLINE, False).note is None
    offline = SyncRecord("", "p", JOB, "synced", run_path="/runs/offline-run-x", offline=True)
    assert plan_run({"id": JOB, "status": "succeeded"}, offline, {}, ONLINE, False).note is None  # not W&B's


def test_logged_by_says_whose_run_it_is():
    assert logged_by(job("running"), None, "team", "p") == "OpenAI"
    enriched = SyncRecord("team", "p", JOB, "synced", run_path=f"team/p/{JOB}", openai_run=f"team/p/{JOB}")
    assert logged_by(job(), enriched, "team", "p") == "OpenAI + ftsync"
    own = SyncRecord("team", "archive", JOB, "synced", run_path=f"team/archive/{JOB}")
    assert logged_by(job(), own, "team", "archive") == "ftsync"
    assert logged_by({"id": JOB}, None, "team", "p") == ""
