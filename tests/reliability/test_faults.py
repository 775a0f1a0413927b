"""One sync through a flaky API completes every job: nothing left for a second pass."""

from __future__ import annotations

import pytest

from ftsync.settings import OpenAISettings, WandbSettings
from ftsync.sync import SyncOptions, sync_jobs

from ..helpers import openai_client
from ..test_sync_engine import check_run, runs_by_job

# about 20% of all requests fail: each rule fires on ~5.6% of what the rules before it let through
FAULTS_20_PERCENT = ";".join(f"*:{kind}:p=0.056{extra}" for kind, extra in
                             (("429", ":retry_after_ms=20"), ("500", ""), ("503", ""), ("drop", "")))


@pytest.mark.slow
def test_one_sync_under_20_percent_faults_completes_every_job(frozen_demo, sync_env):
    """Proves: requests are retried with backoff (the client's max_retries), and so are downloads and
    result files cut mid-body (filecache.retry_cut_bodies; without it: jobs left `partial` with
    `download failed (RemoteProtocolError)`, or `failed` for a cut result file)."""
    emu = frozen_demo
    for rule in FAULTS_20_PERCENT.split(";"):
        emu.faults.add(rule)
    # the settings the CLI builds: its default retries and bounded transport
    settings = OpenAISettings(api_key=emu.api_key, base_url=emu.base_url)
    report = sync_jobs(SyncOptions(openai=settings, wandb=WandbSettings(mode="offline", dir=sync_env["wandb"]),
                                   home=sync_env["home"]))
    fired = sum(rule.fired for rule in emu.faults.rules)
    seen = emu.faults.rules[0].seen
    assert fired / seen > 0.15, f"only {fired} of {seen} requests failed"
    assert any(rule.kind == "drop" and rule.fired for rule in emu.faults.rules)
    emu.faults.clear()
    jobs = {j.id: j for j in openai_client(emu).fine_tuning.jobs.list(limit=100)}
    outcomes = {o.job_id: o for o in report.outcomes}
    assert set(outcomes) == set(jobs)
    runs = runs_by_job(sync_env)
    for job_id, job in jobs.items():
        if job.status in ("succeeded", "failed", "cancelled"):
            assert outcomes[job_id].outcome == "synced", outcomes[job_id]
            assert len(runs[job_id]) == 1
            check_run(emu, job, runs[job_id][0], datasets=True)
        else:  # a live job: synced so far, in one run
            assert outcomes[job_id].outcome == "partial" and outcomes[job_id].message.startswith("job is ")
    assert report.ok
