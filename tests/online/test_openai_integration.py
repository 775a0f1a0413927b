"""Jobs created with OpenAI's own W&B integration: their run (written here as OpenAI writes it) is
enriched in its project, never duplicated; elsewhere ftsync's own run links it. Real wandb SDK,
online, against the W&B test backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ftsync import WandbLogger
from ftsync.ledger import Ledger

from ..helpers import demo_job, openai_client
from .conftest import ENTITY, KEY, PROJECT
from .openai_runs import OPENAI_METRICS, integration, seed_openai_run

pytestmark = pytest.mark.slow

TABLES = ("events", "checkpoints", "train_data", "valid_data")


def ftsync(env_extra: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE", "WANDB_API_KEY")}  # own wandb-core
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "ftsync.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def online(backend, emu, project: str = PROJECT) -> dict[str, str]:
    return {"OPENAI_API_KEY": emu.api_key, "OPENAI_BASE_URL": emu.base_url, "WANDB_API_KEY": KEY,
            "WANDB_BASE_URL": backend.base_url, "WANDB_ENTITY": ENTITY, "WANDB_PROJECT": project}


def openai_spelled_job(emu) -> str:
    """A supervised job with validation whose result file says `train_accuracy` where OpenAI's
    events (and so its W&B run) say `train_mean_token_accuracy`."""
    now = emu.workspace.now()
    for job_id in emu.workspace.job_ids():
        plan = emu.workspace.jobs[job_id]
        if (plan.status(now), plan.method, plan.has_validation, plan.result_columns) == \
                ("succeeded", "supervised", True, "openai"):
            return job_id
    raise LookupError("no such demo job")


def with_integration(emu, job_id: str, **kw) -> None:
    emu.workspace.jobs[job_id].integrations = integration(**kw)


def metric_rows(run) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith("_") and not isinstance(v, dict)} | {"step": row["_step"]}
            for row in run.history_rows() if any(k in row for k in OPENAI_METRICS + ("train_accuracy",))]


def check_enriched(backend, emu, job_id: str, seeded: list[dict]) -> None:
    """OpenAI's run, as OpenAI left it, plus what ftsync adds; no metric row twice, no second spelling."""
    run = backend.run(ENTITY, PROJECT, job_id)
    job = openai_client(emu).fine_tuning.jobs.retrieve(job_id)
    assert metric_rows(run) == [{**{k: v for k, v in d.items() if k != "step"}, "step": d["step"]} for d in seeded]
    keys = {k for row in run.history_rows() for k in row}
    assert "train_accuracy" not in keys  # the result file's spelling of OpenAI's train_mean_token_accuracy
    added = [row for row in run.history_rows() if row["_step"] > seeded[-1]["step"]]
    assert added and all(not any(k in row for k in OPENAI_METRICS) for row in added)
    assert set(TABLES) <= {k for row in added for k in row}
    # OpenAI's tags, display name and summary kept; ftsync's beside them
    assert run.tags[:3] == ["openai/finetune", f"openai/{job.model}", f"openai/{job_id}"] and "exp-7" in run.tags
    assert "method:supervised" in run.tags and run.display_name == "legal-clauses-v2"
    last: dict = {}
    for data in seeded:
        last.update(data)
    for key in ("full_valid_loss", "full_valid_mean_token_accuracy", "total_steps", "train_loss"):
        assert run.summary[key] == last[key], key
    assert run.summary["status"] == "succeeded" and run.summary["fine_tuned_model"] == job.fine_tuned_model
    config = run.config_values()
    assert config["model"] == job.model and config["seed"] == job.seed  # OpenAI's, as it wrote them
    assert config["n_train"] > 0 and config["n_valid"] > 0 and config["fine_tuned_model"] == job.fine_tuned_model
    assert config["method"]["type"] == "supervised" and config["trained_tokens"] == job.trained_tokens
    used = {backend.state.artifacts[i].collection for i in run.inputs}
    assert {f"train-{job.training_file}", f"valid-{job.validation_file}"} <= used
    logged = {backend.state.artifacts[i].collection for i in run.outputs}
    assert {"job_details", "model-metadata"} <= logged
    assert run.state == "finished" and backend.errors == []


@pytest.mark.parametrize("face", ["cli", "wandb_logger"])
def test_openais_run_in_the_project_is_enriched_never_duplicated(online_env, backend, frozen_demo, monkeypatch, face):
    emu = frozen_demo
    job_id = openai_spelled_job(emu)
    with_integration(emu, job_id, tags=["exp-7"])
    seeded = seed_openai_run(backend, openai_client(emu), job_id, tags=["exp-7"])
    lines = len(backend.run(ENTITY, PROJECT, job_id).history)
    if face == "cli":
        done = ftsync(online(backend, emu), "sync", "--id", job_id)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "OpenAI's W&B run" in done.stdout
    else:
        monkeypatch.setenv("WANDB_API_KEY", KEY)
        monkeypatch.setenv("WANDB_BASE_URL", backend.base_url)
        assert WandbLogger.sync(fine_tune_job_id=job_id, openai_client=openai_client(emu), entity=ENTITY,
                                project=PROJECT) is not None
    check_enriched(backend, emu, job_id, seeded)
    assert len(backend.run(ENTITY, PROJECT, job_id).history) == lines + 1  # one row of tables, after OpenAI's
    record = Ledger.in_home(online_env["home"]).get(ENTITY, PROJECT, job_id)
    assert record.state == "synced" and record.openai_run == f"{ENTITY}/{PROJECT}/{job_id}"
    # a second sync adds nothing, and a fresh machine (W&B's summary now says succeeded) neither
    again = ftsync(online(backend, emu) | {"FTSYNC_HOME": str(online_env["home"])}, "sync", "--id", job_id)
    assert again.returncode == 0 and "skipped" in again.stdout, again.stdout
    assert len(backend.run(ENTITY, PROJECT, job_id).history) == lines + 1
    listed = ftsync(online(backend, emu), "jobs", "--json")
    row = next(json.loads(line) for line in listed.stdout.splitlines() if json.loads(line)["id"] == job_id)
    assert row["openai_run"] == f"{ENTITY}/{PROJECT}/{job_id}" and row["logged_by"] == "OpenAI + ftsync"
    assert row["run_url"] == f"{backend.base_url}/{ENTITY}/{PROJECT}/runs/{job_id}"


def test_openais_run_is_recognised_from_wandb_alone(online_env, backend, frozen_demo):
    """A job object without `integrations` (an older API, a proxy): W&B's tag says whose run it is."""
    emu = frozen_demo
    job_id = openai_spelled_job(emu)
    seeded = seed_openai_run(backend, openai_client(emu), job_id, tags=["exp-7"])
    done = ftsync(online(backend, emu), "sync", "--id", job_id)
    assert done.returncode == 0, done.stderr[-2000:]
    check_enriched(backend, emu, job_id, seeded)


def test_a_running_integration_job_is_left_to_openai(online_env, backend, frozen_demo):
    emu = frozen_demo
    job_id = demo_job(emu, status="running")
    with_integration(emu, job_id, tags=["exp-7"])
    seeded = seed_openai_run(backend, openai_client(emu), job_id, tags=["exp-7"])
    before = [r for r in backend.requests]
    done = ftsync(online(backend, emu), "sync", "--id", job_id)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OpenAI's W&B integration logs it live" in done.stdout
    run = backend.run(ENTITY, PROJECT, job_id)
    assert len(run.history) == len(seeded)
    writes = [r for r in backend.requests[len(before):] if r.operation in ("UpsertBucket", "CreateArtifact")
              or "file_stream" in r.path]
    assert writes == []
    assert Ledger.in_home(online_env["home"]).get(ENTITY, PROJECT, job_id) is None


def test_another_project_gets_ftsyncs_own_run_linking_openais(online_env, backend, frozen_demo):
    emu = frozen_demo
    job_id = openai_spelled_job(emu)
    with_integration(emu, job_id, tags=["exp-7"])
    seeded = seed_openai_run(backend, openai_client(emu), job_id, tags=["exp-7"])
    done = ftsync(online(backend, emu, project="team-archive"), "sync", "--id", job_id)
    assert done.returncode == 0, done.stderr[-2000:]
    ours = backend.run(ENTITY, "team-archive", job_id)
    assert ours.config_values()["openai_wandb_run"] == f"{ENTITY}/{PROJECT}/{job_id}"
    steps = [row["_step"] for row in ours.history_rows() if "train_loss" in row]
    assert steps == sorted(set(steps)) and len(steps) == len(seeded)  # its own complete history, each step once
    assert "openai/finetune" not in ours.tags
    theirs = backend.run(ENTITY, PROJECT, job_id)
    assert len(theirs.history) == len(seeded) and "status" not in theirs.summary  # untouched
    assert backend.errors == []
