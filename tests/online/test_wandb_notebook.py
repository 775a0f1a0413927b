"""W&B's own example notebook (wandb/examples, colabs/openai/Fine_tune_OpenAI_with_Weights_and_Biases
.ipynb), its reading cells as a test, run against what ftsync wrote: code written for W&B's logger
works unchanged. The cells are kept as the notebook has them; only the artifact URIs (placeholders
there) are filled in, and the model calls (to OpenAI) are left out."""

from __future__ import annotations

import glob
import json

import pandas as pd
import pytest
import wandb
from wandb.integration.openai.fine_tuning import WandbLogger as WandbsLogger

from ..helpers import openai_client
from .conftest import ENTITY, KEY, PROJECT
from .test_online_sync import cli, online

pytestmark = pytest.mark.slow


def support_job(emu) -> str:
    """A succeeded job on the demo's 3-message chat files (system, user, assistant), the notebook's shape."""
    ws = emu.workspace
    for job_id in ws.job_ids():
        plan = ws.jobs[job_id]
        names = {ws.files[f].filename for f in (plan.training_file, plan.validation_file) if f}
        if plan.status(ws.now()) == "succeeded" and names == {"support_train.jsonl", "support_valid.jsonl"}:
            return job_id
    raise LookupError("no support job in the demo")


def test_the_notebooks_reading_cells_pass_against_ftsyncs_runs(online_env, backend, frozen_demo, tmp_path, monkeypatch):
    emu = frozen_demo
    job_id = support_job(emu)
    assert cli(online(backend, emu), "--id", job_id).returncode == 0
    job = openai_client(emu).fine_tuning.jobs.retrieve(job_id)
    monkeypatch.chdir(tmp_path)  # artifact.download() lands under ./artifacts
    settings = wandb.Settings(api_key=KEY, base_url=backend.base_url, mode="online", silent=True, console="off")

    # cell 46
    run = wandb.init(project=PROJECT, entity=ENTITY, job_type="eval", reinit="create_new", settings=settings)
    VALIDATION_FILE_ARTIFACT_URI = f"{ENTITY}/{PROJECT}/valid-{job.validation_file}:latest"
    artifact_valid = run.use_artifact(VALIDATION_FILE_ARTIFACT_URI, type="validation_files")
    # cell 48
    artifact_valid_path = artifact_valid.download()
    validation_file = glob.glob(f"{artifact_valid_path}/*.table.json")[0]
    with open(validation_file) as file:
        data = json.load(file)
    validation_df = pd.DataFrame(columns=data["columns"], data=data["data"])
    run.config.update({"num_validation_samples": len(validation_df)})

    # cell 50
    def eval_data_format(row):
        role_system_content = row["role: system"]
        role_system_dict = {"role": "system", "content": role_system_content}
        role_user_content = row["role: user"]
        role_user_dict = {"role": "user", "content": role_user_content}
        return [role_system_dict, role_user_dict]

    validation_df["messages"] = validation_df.apply(lambda row: eval_data_format(row), axis=1)
    # cells 52-54
    MODEL_ARTIFACT_URI = f"{ENTITY}/{PROJECT}/model-metadata:{job_id}"
    model_artifact = run.use_artifact(MODEL_ARTIFACT_URI, type="model")
    model_metadata_path = model_artifact.download()
    model_metadata_file = glob.glob(f"{model_metadata_path}/*.json")[0]
    with open(model_metadata_file) as file:
        model_metadata = json.load(file)
    fine_tuned_model = model_metadata["fine_tuned_model"]
    # cell 56, up to the model call
    targets = [row["role: assistant"] for _, row in validation_df.iterrows()]
    run.finish()

    assert len(glob.glob(f"{model_metadata_path}/*.json")) == 1  # the metadata, and nothing glob could pick instead
    assert fine_tuned_model == job.fine_tuned_model
    # the same rows W&B's own logger tables from the same file (its `_make_table`)
    raw = openai_client(emu).files.content(job.validation_file).text
    theirs, n_items = WandbsLogger._make_table(raw)
    assert len(validation_df) == n_items == 30
    assert validation_df[["role: system", "role: user", "role: assistant"]].values.tolist() == theirs.data
    assert targets == [row[2] for row in theirs.data]
    assert validation_df["messages"][0] == [{"role": "system", "content": theirs.data[0][0]},
                                            {"role": "user", "content": theirs.data[0][1]}]
    # the run has W&B's `train_data` / `valid_data` tables too, as its logger logs them
    synced = backend.run(ENTITY, PROJECT, job_id)
    assert {"train_data", "valid_data"} <= set(synced.summary)
    assert backend.errors == []
