"""The sync engine against the emulator, W&B offline; checked by reading the `.wandb` transaction logs."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
from pathlib import Path

import pytest

from ftsync.ledger import Ledger
from ftsync.settings import WandbSettings
from ftsync.sync import SyncOptions, sync_jobs
from ftsync.wandb_offline import OfflineRun, offline_runs

from .helpers import demo_job, openai_client


def options(emu, env, **kw) -> SyncOptions:
    kw.setdefault("wandb", WandbSettings(mode="offline", dir=env["wandb"]))
    return SyncOptions(client=openai_client(emu), home=env["home"], **kw)


def runs_by_job(env) -> dict[str, list[OfflineRun]]:
    out: dict[str, list[OfflineRun]] = {}
    for run in offline_runs(env["wandb"]):
        out.setdefault(run.run_id, []).append(run)
    return out


def expected_rows(emu, job) -> list[dict[str, float]]:
    """The result file's rows, read independently of ftsync (csv module, empty cells dropped)."""
    raw = openai_client(emu).files.content(job.result_files[0]).read()
    text = base64.b64decode(raw).decode()
    return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(io.StringIO(text))]


def check_run(emu, job, run: OfflineRun, *, datasets: bool) -> None:
    """The W&B output contract for one job."""
    assert run.run_id == job.id and run.display_name == job.id and run.job_type == "fine-tune"
    assert run.project == "OpenAI-Fine-Tune"
    assert {f"method:{job.method.type}", f"model:{job.model}", f"status:{job.status}"} <= set(run.tags)
    # history: every result-file row at its step
    if job.method.type != "reinforcement" and job.result_files:
        want = expected_rows(emu, job)
        got = run.metrics()
        assert [int(r["step"]) for r in want] == [r["_step"] for r in got]
        for w, g in zip(want, got):
            assert {k: v for k, v in w.items() if k != "step"} == {k: v for k, v in g.items() if k != "_step"}
    # config: the job, JSON-safe, with method hyperparameters
    for key in ("id", "model", "training_file", "validation_file", "status", "seed", "fine_tuned_model"):
        assert run.config[key] == getattr(job, key), key
    assert run.config["method"]["type"] == job.method.type
    method_hyper = getattr(job.method, job.method.type).hyperparameters.model_dump(exclude_none=True)
    assert run.config["hyperparameters"] == method_hyper
    # summary
    assert run.summary["status"] == job.status
    assert run.summary["fine_tuned_model"] == job.fine_tuned_model
    assert run.summary["trained_tokens"] == job.trained_tokens
    if job.status == "failed":
        assert run.summary["error"] == job.error.message
    if job.finished_at:
        assert run.summary["duration_seconds"] == job.finished_at - job.created_at
    # artifacts
    details = run.artifact("job_details")
    assert details.type == "job_details" and set(details.aliases) == {"latest", job.id}
    assert details.metadata["fine_tuned_model"] == job.fine_tuned_model and "job_details.json" in details.files
    assert json.loads(Path(details.files["job_details.json"]).read_text())["id"] == job.id
    if job.status == "succeeded":
        model = run.artifact("model-metadata")
        assert model.type == "model" and set(model.aliases) == {"latest", job.id}
        assert model.metadata["fine_tuned_model"] == job.fine_tuned_model
        assert [c["step_number"] for c in model.metadata["checkpoints"]]
        assert "model_metadata.json" in model.files
    if datasets:
        for role, file_id in (("train", job.training_file), ("valid", job.validation_file)):
            if not file_id:
                continue
            art = run.artifact(f"{role}-{file_id}")
            assert art.type == {"train": "training_files", "valid": "validation_files"}[role]
            assert set(art.aliases) == {"latest", file_id}
            meta = openai_client(emu).files.retrieve(file_id)
            assert art.metadata["filename"] == meta.filename and art.metadata["bytes"] == meta.bytes
            assert art.metadata["items"] >= 10 and art.metadata["format"]
            table = json.loads(Path(art.files[f"{file_id}.table.json"]).read_text())
            assert len(table["data"]) == art.metadata["items"] and len(table["columns"]) >= 2
            assert run.config[f"n_{role}"] == art.metadata["items"]


def test_a_handful_of_jobs_of_every_kind(frozen_demo, sync_env):
    emu = frozen_demo
    picks = [demo_job(emu, status="succeeded", validation=True), demo_job(emu, status="succeeded", method="dpo"),
             demo_job(emu, status="succeeded", method="reinforcement"), demo_job(emu, status="failed"),
             demo_job(emu, status="cancelled"), demo_job(emu, status="succeeded", model_prefix="babbage")]
    report = sync_jobs(options(emu, sync_env, job_ids=picks))
    assert [o.outcome for o in report.outcomes] == ["synced"] * len(picks), report.outcomes
    runs = runs_by_job(sync_env)
    client = openai_client(emu)
    for job_id in picks:
        job = client.fine_tuning.jobs.retrieve(job_id)
        assert len(runs[job_id]) == 1
        check_run(emu, job, runs[job_id][0], datasets=job.status != "failed" or job.error.code != "invalid_training_file")


def test_rft_history_comes_from_the_nested_metrics_events(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", method="reinforcement")
    sync_jobs(options(emu, sync_env, job_ids=[job_id], log_datasets=False))
    run = runs_by_job(sync_env)[job_id][0]
    events = [e for e in openai_client(emu).fine_tuning.jobs.list_events(job_id, limit=1000) if e.type == "metrics"]
    assert [r["_step"] for r in run.metrics()] == sorted(e.data["step"] for e in events)
    first = min(events, key=lambda e: e.data["step"])
    row = run.metrics()[0]
    assert row["train_mean_reward"] == first.data["train_mean_reward"]
    assert row["scores/train_reward_mean"] == first.data["scores"]["train_reward_mean"]
    assert row["scores/graders/compliance_check/train_reward_mean"] == first.data["scores"]["graders"][0]["train_reward_mean"]


@pytest.mark.slow
def test_the_whole_demo_workspace(frozen_demo, sync_env):
    emu = frozen_demo
    report = sync_jobs(options(emu, sync_env))
    client = openai_client(emu)
    jobs = {j.id: j for j in client.fine_tuning.jobs.list(limit=100)}
    assert {o.job_id for o in report.outcomes} == set(jobs)
    runs = runs_by_job(sync_env)
    for job_id, job in jobs.items():
        outcome = next(o for o in report.outcomes if o.job_id == job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            if job.error and job.error.code == "invalid_training_file":
                assert outcome.outcome == "synced"  # its broken file is still logged, as a dataset with findings
            assert outcome.outcome == "synced", outcome
            check_run(emu, job, runs[job_id][0], datasets=True)
        else:
            assert outcome.outcome == "partial" and runs[job_id][0].summary["status"] == job.status
    assert report.ok


def test_second_sync_creates_no_run_and_force_relogs_only_x(frozen_demo, sync_env):
    emu = frozen_demo
    opts = options(emu, sync_env, limit=8, log_datasets=False)  # 5 live jobs and 3 finished
    first = sync_jobs(opts)
    assert first.ok and len(first.outcomes) == 8
    before = sorted(p.name for p in (sync_env["wandb"] / "wandb").glob("offline-run-*"))
    second = sync_jobs(opts)
    assert second.ok and {o.outcome for o in second.outcomes} == {"skipped"}
    assert sorted(p.name for p in (sync_env["wandb"] / "wandb").glob("offline-run-*")) == before
    target = next(o.job_id for o in first.outcomes if o.outcome == "synced")
    forced = sync_jobs(options(emu, sync_env, job_ids=[target], overwrite=True, log_datasets=False))
    assert [(o.job_id, o.outcome) for o in forced.outcomes] == [(target, "synced")]
    after = sorted(p.name for p in (sync_env["wandb"] / "wandb").glob("offline-run-*"))
    new = set(after) - set(before)
    assert len(new) == 1 and new.pop().endswith(target)


def test_limit_syncs_the_most_recent_jobs(frozen_demo, sync_env):
    emu = frozen_demo
    report = sync_jobs(options(emu, sync_env, limit=3, log_datasets=False))
    newest = emu.workspace.job_ids()[:3]
    assert sorted(o.job_id for o in report.outcomes) == sorted(newest)
    assert set(runs_by_job(sync_env)) == set(newest)


def test_a_running_job_is_completed_later_without_duplicated_steps(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="running", method="supervised")
    plan = emu.workspace.jobs[job_id]
    first = sync_jobs(options(emu, sync_env, job_ids=[job_id]))
    live = first.outcomes[0]
    assert live.outcome == "partial" and 0 < live.steps < plan.total_steps
    emu.clock.now += 60  # a minute later: more steps, still running
    second = sync_jobs(options(emu, sync_env, job_ids=[job_id]))
    assert second.outcomes[0].outcome == "partial" and second.outcomes[0].steps > live.steps
    emu.clock.now = plan.planned_end + 10  # finished
    third = sync_jobs(options(emu, sync_env, job_ids=[job_id]))
    assert third.outcomes[0].outcome == "synced" and third.outcomes[0].steps == plan.total_steps, third.outcomes[0].message
    runs = runs_by_job(sync_env)[job_id]
    assert len(runs) == 3 and [r.resume for r in runs] == [False, True, True]
    steps = [row["_step"] for run in runs for row in run.metrics()]
    assert steps == list(range(1, plan.total_steps + 1))  # every step once, in order
    assert runs[-1].summary["status"] == "succeeded"
    fourth = sync_jobs(options(emu, sync_env, job_ids=[job_id]))
    assert fourth.outcomes[0].outcome == "skipped" and len(runs_by_job(sync_env)[job_id]) == 3


def test_two_syncs_of_one_job_never_interleave(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(
        sync_jobs(options(emu, sync_env, job_ids=[job_id], log_datasets=False)))) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    outcomes = sorted(r.outcomes[0].outcome for r in reports)
    assert outcomes == ["skipped", "skipped", "synced"]
    assert len(runs_by_job(sync_env)[job_id]) == 1


def test_waiting_syncs_finished_jobs_first_and_logs_the_job_once_done(sync_env):
    from ftsync.emulator import Emulator

    with Emulator("demo", speed=400) as emu:
        running = demo_job(emu, status="running", method="supervised")
        done = demo_job(emu, status="succeeded", validation=False)
        order = []
        report = sync_jobs(options(emu, sync_env, job_ids=[running, done], wait=True, poll_interval=0.05,
                                   log_datasets=False),
                           progress=lambda p: order.append((p.job_id, p.stage)))
    assert {o.job_id: o.outcome for o in report.outcomes} == {running: "synced", done: "synced"}
    assert order.index((running, "waiting")) < order.index((running, "logging"))
    assert [j for j, stage in order if stage == "done"] == [done, running]
    run = runs_by_job(sync_env)[running][0]
    assert run.summary["status"] == "succeeded" and run.config["status"] == "succeeded"


def test_ledger_records_each_outcome(frozen_demo, sync_env):
    emu = frozen_demo
    job_id = demo_job(emu, status="cancelled")
    sync_jobs(options(emu, sync_env, job_ids=[job_id], log_datasets=False, action="cli"))
    ledger = Ledger.in_home(sync_env["home"])
    record = ledger.get("", "OpenAI-Fine-Tune", job_id)
    assert record.state == "synced" and record.job_status == "cancelled" and record.offline
    assert record.run_path.endswith(job_id) and Path(record.run_path).is_dir()
    assert {"job_details", "tables"} <= set(record.artifacts) and "model" not in record.artifacts
    history = ledger.history()
    assert history[0]["job_id"] == job_id and history[0]["action"] == "cli" and history[0]["outcome"] == "synced"


def test_azure_openai_jobs_sync_the_same_way(frozen_demo, sync_env):
    from ftsync.settings import OpenAISettings

    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", method="dpo")
    azure = OpenAISettings(azure_endpoint=emu.azure_endpoint, api_key=emu.api_key, api_version="2024-10-21")
    report = sync_jobs(SyncOptions(openai=azure, wandb=WandbSettings(mode="offline", dir=sync_env["wandb"]),
                                   home=sync_env["home"], job_ids=[job_id]))
    assert [o.outcome for o in report.outcomes] == ["synced"]
    check_run(emu, openai_client(emu).fine_tuning.jobs.retrieve(job_id), runs_by_job(sync_env)[job_id][0], datasets=True)


def test_a_file_shared_by_many_jobs_is_downloaded_once(frozen_demo, sync_env):
    emu = frozen_demo
    ws = emu.workspace
    by_file: dict[str, list[str]] = {}
    for job_id, plan in ws.jobs.items():
        if plan.status(ws.now()) == "succeeded":
            by_file.setdefault(plan.training_file, []).append(job_id)
    file_id, jobs = max(by_file.items(), key=lambda kv: len(kv[1]))
    assert len(jobs) >= 3
    counter = emu.faults.add(f"files.content:500:p=0:id={file_id}")  # never fires; counts the requests
    report = sync_jobs(options(emu, sync_env, job_ids=jobs))
    assert {o.outcome for o in report.outcomes} == {"synced"}
    assert counter.seen == 1
    assert list((sync_env["home"] / "cache").glob(f"*/files/{file_id}"))


def test_no_events_skips_their_requests_and_tables_but_keeps_the_metrics(frozen_demo, sync_env):
    """`--no-events` (the logger's work only): no events or checkpoints requested for a job whose
    metrics come from its result file, no tables; the history is whole."""
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    counter = emu.faults.add("jobs.events:500:p=0")  # never fires: counts the requests
    report = sync_jobs(options(emu, sync_env, job_ids=[job_id], log_datasets=False, log_events=False))
    assert [o.outcome for o in report.outcomes] == ["synced"]
    assert counter.seen == 0
    run = runs_by_job(sync_env)[job_id][0]
    want = expected_rows(emu, openai_client(emu).fine_tuning.jobs.retrieve(job_id))
    assert [int(r["step"]) for r in want] == [r["_step"] for r in run.metrics()]
    assert "events" not in run.summary and run.summary["n_events"] is None
    assert run.artifact("model-metadata").type == "model"


@pytest.mark.slow
def test_runs_written_in_worker_processes_follow_the_same_contract(frozen_demo, sync_env, monkeypatch):
    """processes=2 (the CLI's default for 4 jobs or more on 2 cores): the same runs as in threads."""
    import ftsync.writers

    monkeypatch.setattr(ftsync.writers, "LARGE_RUN_ROWS", 0)  # every run to a worker, however small
    started = []
    real_pool = ftsync.writers.Writers._pool
    monkeypatch.setattr(ftsync.writers.Writers, "_pool", lambda self: started.append(1) or real_pool(self))
    emu = frozen_demo
    picks = [demo_job(emu, status="succeeded", validation=True), demo_job(emu, status="succeeded", method="dpo"),
             demo_job(emu, status="failed"), demo_job(emu, status="cancelled")]
    report = sync_jobs(options(emu, sync_env, job_ids=picks, processes=2))
    assert [o.outcome for o in report.outcomes] == ["synced"] * 4, report.outcomes
    assert len(started) == 4  # each run went through the pool
    runs = runs_by_job(sync_env)
    client = openai_client(emu)
    for job_id in picks:
        job = client.fine_tuning.jobs.retrieve(job_id)
        check_run(emu, job, runs[job_id][0], datasets=job.status != "failed" or job.error.code != "invalid_training_file")


def test_a_large_dataset_file_gets_the_digest_wandb_would_give_it(tmp_path):
    """add_large_file hashes in chunks (wandb maps the whole file): the manifest entry must be the same."""
    import wandb

    from ftsync.sink import add_large_file

    path = tmp_path / "train.jsonl"
    path.write_bytes(bytes(range(256)) * 9000)
    theirs, ours = wandb.Artifact("a", type="t"), wandb.Artifact("a", type="t")
    theirs.add_file(str(path), name="file-x")
    add_large_file(ours, path, "file-x")
    a, b = theirs.manifest.entries["file-x"], ours.manifest.entries["file-x"]
    assert (a.digest, a.size) == (b.digest, b.size)
