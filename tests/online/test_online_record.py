"""`ftsync record` online: the outputs go into the job's run on the W&B test backend (resumed, after
its last step, nothing repeated), with the artifact used beside the model artifact for lineage."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ENTITY, PROJECT
from .test_online_sync import cli, online

pytestmark = pytest.mark.slow


def support_job(emu) -> str:
    ws = emu.workspace
    for job_id in ws.job_ids():
        plan = ws.jobs[job_id]
        if plan.status(ws.now()) == "succeeded" and plan.model.startswith("gpt-4.1-2") \
                and ws.files[plan.training_file].filename == "support_train.jsonl":
            return job_id
    raise LookupError("no support job on gpt-4.1")


def test_outputs_go_into_the_synced_run_after_its_last_step(online_env, backend, frozen_demo):
    emu = frozen_demo
    job_id = support_job(emu)
    assert cli(online(backend, emu), "--id", job_id).returncode == 0
    run = backend.run(ENTITY, PROJECT, job_id)
    steps_before = [row["_step"] for row in run.history_rows()]
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"} | online(backend, emu)
    done = subprocess.run([sys.executable, "-m", "ftsync.cli", "record", "--id", job_id, "--examples", "5", "--yes",
                           "--json"], env=env,
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["wandb"][job_id] == f"{ENTITY}/{PROJECT}/{job_id}" and report["ok"]
    run = backend.run(ENTITY, PROJECT, job_id)
    rows = run.history_rows()
    assert [r["_step"] for r in rows[: len(steps_before)]] == steps_before  # the job's history untouched
    [added] = rows[len(steps_before):]
    assert added["_step"] == steps_before[-1] + 1 and added["outputs"]["_type"] == "table-file"
    assert 0 <= run.summary["outputs/fine-tuned/exact_match"] <= 1 and run.summary["status"] == "succeeded"
    [outputs] = backend.versions(ENTITY, PROJECT, f"outputs-{job_id}")
    assert outputs.state == "COMMITTED" and outputs.created_by == run.key and job_id in backend.aliases(outputs)
    assert {"outputs.table.json", "responses.jsonl"} <= set(outputs.files)
    table = json.loads(outputs.files["outputs.table.json"])
    assert len(table["data"]) == 5 and "fine-tuned: answer" in table["columns"]
    used = {backend.state.artifacts[i].collection for i in run.inputs}
    assert "model-metadata" in used  # lineage: the model -> the run -> its outputs
    assert backend.errors == []
