"""`WandbLogger.sync(...)`: a drop-in for `wandb.integration.openai.fine_tuning.WandbLogger`.

Same arguments and defaults as W&B's logger, without its bugs: every job (not the first page),
no early stop at the first synced job, failed and cancelled jobs logged to their own runs,
offline mode works. `sync_report()` is the typed variant returning the per-job report.
"""

from __future__ import annotations

from typing import Any

import openai

from .settings import DEFAULT_PROJECT, WandbSettings
from .sync import SyncOptions, SyncReport, sync_jobs

COMPLETED = "🎉 wandb sync completed successfully"


class WandbLogger:
    """Classmethods only, like W&B's; no state is kept on the class between calls."""

    @classmethod
    def sync(cls, fine_tune_job_id: str | None = None, openai_client: openai.OpenAI | None = None,
             num_fine_tunes: int | None = None, project: str = DEFAULT_PROJECT, entity: str | None = None,
             overwrite: bool = False, wait_for_job_success: bool = True, log_datasets: bool = True,
             model_artifact_name: str = "model-metadata", model_artifact_type: str = "model",
             **kwargs_wandb_init: Any) -> str | None:
        """Sync fine-tuning jobs to W&B. Returns as W&B's logger does: its success string when jobs were
        synced, None when there was nothing to sync (no job, or every one synced already: W&B's returns
        None at the first synced job); also None when a job failed (W&B's would raise)."""
        report = cls.sync_report(fine_tune_job_id, openai_client, num_fine_tunes, project, entity, overwrite,
                                 wait_for_job_success, log_datasets, model_artifact_name, model_artifact_type,
                                 **kwargs_wandb_init)
        for outcome in report.outcomes:
            if outcome.outcome in ("failed", "partial"):
                print(f"ftsync: {outcome.job_id} {outcome.outcome}: {outcome.message}")
        if report.upload_command:
            print(f"ftsync: offline runs; upload them with: {report.upload_command}")
        if not report.outcomes:
            print("ftsync: no fine-tune has been retrieved")
            return None
        if all(o.outcome == "skipped" for o in report.outcomes):
            print(f"ftsync: nothing to sync: {report.outcomes[0].job_id} {report.outcomes[0].message}"
                  if len(report.outcomes) == 1 else f"ftsync: nothing to sync: {len(report.outcomes)} jobs skipped")
            return None
        return COMPLETED if report.ok else None

    @classmethod
    def sync_report(cls, fine_tune_job_id: str | None = None, openai_client: openai.OpenAI | None = None,
                    num_fine_tunes: int | None = None, project: str = DEFAULT_PROJECT, entity: str | None = None,
                    overwrite: bool = False, wait_for_job_success: bool = True, log_datasets: bool = True,
                    model_artifact_name: str = "model-metadata", model_artifact_type: str = "model",
                    poll_interval: float = 60.0, wait_timeout: float | None = None,
                    **kwargs_wandb_init: Any) -> SyncReport:
        """Like sync(), returning the typed per-job report."""
        mode = kwargs_wandb_init.pop("mode", None)
        wandb_dir = kwargs_wandb_init.pop("dir", None)
        settings = WandbSettings.from_env(project=project, entity=entity, mode=mode, dir=wandb_dir)
        options = SyncOptions(client=openai_client, wandb=settings,
                              job_ids=[fine_tune_job_id] if fine_tune_job_id else None,
                              limit=None if fine_tune_job_id else num_fine_tunes,
                              overwrite=overwrite, wait=wait_for_job_success, poll_interval=poll_interval,
                              wait_timeout=wait_timeout, log_datasets=log_datasets,
                              model_artifact_name=model_artifact_name, model_artifact_type=model_artifact_type,
                              init_kwargs=kwargs_wandb_init, action="python")
        return sync_jobs(options)
