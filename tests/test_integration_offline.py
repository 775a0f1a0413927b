"""OpenAI's W&B integration, offline: the job object alone says the run is OpenAI's, so the offline run
adds to it (resumed when uploaded) and logs none of its metric rows; elsewhere, ftsync's own run links it.
Read back from the `.wandb` transaction log."""

from __future__ import annotations

from ftsync.settings import WandbSettings
from ftsync.sync import sync_jobs

from .helpers import demo_job, openai_client
from .test_sync_engine import options, runs_by_job


def with_integration(emu, job_id: str, project: str = "OpenAI-Fine-Tune") -> None:
    emu.workspace.jobs[job_id].integrations = [
        {"type": "wandb", "wandb": {"project": project, "entity": None, "name": "v2", "tags": ["exp-7"]}}]


def test_offline_an_integration_job_in_the_project_adds_to_openais_run(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    with_integration(emu, job_id)
    report = sync_jobs(options(emu, sync_env, job_ids=[job_id]))
    [outcome] = report.outcomes
    assert outcome.outcome == "synced" and "added to OpenAI's W&B run OpenAI-Fine-Tune/" in outcome.message
    [run] = runs_by_job(sync_env)[job_id]
    job = openai_client(emu).fine_tuning.jobs.retrieve(job_id)
    assert run.resume and run.metrics() == []  # OpenAI logged them: not one row again
    steps = {row["_step"] for row in run.history}
    assert steps and min(steps) > max(e.data["step"] for e in openai_client(emu).fine_tuning.jobs.list_events(
        job_id, limit=100) if e.type == "metrics")  # the tables go after OpenAI's last step
    assert run.tags[:3] == ["openai/finetune", f"openai/{job.model}", f"openai/{job_id}"] and "exp-7" in run.tags
    assert "method:supervised" in run.tags
    assert run.display_name == "v2"  # OpenAI's name for its run, which the upload would otherwise replace
    assert "model" not in run.config and "hyperparameters" not in run.config  # OpenAI's keys, as it wrote them
    assert run.config["n_train"] > 0 and run.config["fine_tuned_model"] == job.fine_tuned_model
    assert run.summary["status"] == "succeeded"
    assert {a.name for a in run.artifacts} >= {f"train-{job.training_file}", "job_details", "model-metadata"}


def test_offline_a_running_integration_job_is_left_to_openai(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="running")
    with_integration(emu, job_id)
    [outcome] = sync_jobs(options(emu, sync_env, job_ids=[job_id])).outcomes
    assert outcome.outcome == "skipped" and "OpenAI's W&B integration logs it live" in outcome.message
    assert job_id not in runs_by_job(sync_env)


def test_offline_another_project_gets_its_own_run_linking_openais(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    with_integration(emu, job_id, project="their-project")
    sync_jobs(options(emu, sync_env, job_ids=[job_id], wandb=WandbSettings(mode="offline", dir=sync_env["wandb"])))
    [run] = runs_by_job(sync_env)[job_id]
    assert run.config["openai_wandb_run"] == f"their-project/{job_id}" and run.metrics() and not run.resume
