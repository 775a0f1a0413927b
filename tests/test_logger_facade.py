"""`WandbLogger.sync(...)`: W&B's signature, ftsync's behaviour."""

from __future__ import annotations

import inspect

from openai import OpenAI

from ftsync import WandbLogger
from ftsync.logger import COMPLETED

from .helpers import demo_job
from .test_sync_engine import check_run, runs_by_job


def test_signature_matches_wandbs_logger():
    params = inspect.signature(WandbLogger.sync).parameters
    assert list(params) == ["fine_tune_job_id", "openai_client", "num_fine_tunes", "project", "entity", "overwrite",
                            "wait_for_job_success", "log_datasets", "model_artifact_name", "model_artifact_type",
                            "kwargs_wandb_init"]
    defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    assert defaults == {"fine_tune_job_id": None, "openai_client": None, "num_fine_tunes": None,
                        "project": "OpenAI-Fine-Tune", "entity": None, "overwrite": False,
                        "wait_for_job_success": True, "log_datasets": True,
                        "model_artifact_name": "model-metadata", "model_artifact_type": "model"}


def test_same_behaviour_through_the_facade(frozen_demo, sync_env, capsys):
    emu = frozen_demo
    client = OpenAI(base_url=emu.base_url, api_key=emu.api_key)
    job_id = demo_job(emu, status="succeeded", validation=True)
    assert WandbLogger.sync(fine_tune_job_id=job_id, openai_client=client, tags=["team-a"]) == COMPLETED
    run = runs_by_job(sync_env)[job_id][0]
    check_run(emu, client.fine_tuning.jobs.retrieve(job_id), run, datasets=True)
    assert "team-a" in run.tags
    assert "wandb sync " in capsys.readouterr().out  # offline: how to upload later
    # again: nothing new, no new run, and None, as W&B's logger returns for a job it already synced
    assert WandbLogger.sync(fine_tune_job_id=job_id, openai_client=client) is None
    assert len(runs_by_job(sync_env)[job_id]) == 1
    # overwrite re-logs
    assert WandbLogger.sync(fine_tune_job_id=job_id, openai_client=client, overwrite=True, log_datasets=False) == COMPLETED
    assert len(runs_by_job(sync_env)[job_id]) == 2


def test_num_fine_tunes_takes_the_most_recent_and_all_jobs_mode_does_not_stop_early(frozen_demo, sync_env):
    emu = frozen_demo
    client = OpenAI(base_url=emu.base_url, api_key=emu.api_key)
    report = WandbLogger.sync_report(openai_client=client, num_fine_tunes=9, wait_for_job_success=False,
                                     log_datasets=False, project="proj-x", model_artifact_name="my-model")
    newest = emu.workspace.job_ids()[:9]
    assert sorted(o.job_id for o in report.outcomes) == sorted(newest)
    runs = runs_by_job(sync_env)
    assert all(runs[j][0].project == "proj-x" for j in newest)
    succeeded = next(o.job_id for o in report.outcomes if o.job_status == "succeeded")
    assert runs[succeeded][0].artifact("my-model").type == "model"
    # W&B's logger returns from the whole sync at the first synced job; ours syncs the rest
    more = WandbLogger.sync_report(openai_client=client, num_fine_tunes=12, wait_for_job_success=False,
                                   log_datasets=False, project="proj-x")
    assert {o.job_id for o in more.outcomes if o.outcome == "synced"} == set(emu.workspace.job_ids()[9:12])
