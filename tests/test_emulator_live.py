"""Live jobs: created through the SDK, they walk their states by the (sped-up) wall clock."""

from __future__ import annotations

import base64
import csv
import io
import json
import time

import openai
import pytest

from ftsync.emulator import Emulator
from ftsync.emulator.timeline import JobPlan

from .helpers import openai_client


def _chat_file(n: int) -> bytes:
    return b"".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                             {"role": "assistant", "content": f"a{i}"}]}).encode() + b"\n"
                    for i in range(n))


def _wait(client, job_id: str, statuses: set[str], timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if not seen or seen[-1] != job.status:
            seen.append(job.status)
        if job.status in statuses:
            return job, seen
        assert time.monotonic() < deadline, f"job stuck in {seen}"
        time.sleep(0.005)


def test_a_live_job_reaches_succeeded_with_metrics_events_and_a_result_file():
    with Emulator("empty", speed=400) as emu:
        client = openai_client(emu)
        train = client.files.create(file=("train.jsonl", _chat_file(20)), purpose="fine-tune")
        valid = client.files.create(file=("valid.jsonl", _chat_file(10)), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id,
                                             validation_file=valid.id, suffix="live", metadata={"run": "t"})
        assert job.status == "validating_files"
        assert job.hyperparameters.n_epochs == "auto" and job.fine_tuned_model is None and job.result_files == []
        job, seen = _wait(client, job.id, {"succeeded", "failed"})
        assert seen[0] == "validating_files" and seen[-1] == "succeeded"
        assert "running" in seen
        assert job.hyperparameters.n_epochs == 5  # OpenAI's heuristic for 20 examples
        assert job.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:emulator:live:")
        assert job.trained_tokens > 0 and job.finished_at >= job.created_at

        events = list(client.fine_tuning.jobs.list_events(job.id, limit=50))
        metrics = [e for e in events if e.type == "metrics"]
        assert len(metrics) == 100  # 5 epochs x 20 steps
        assert [e.data["step"] for e in metrics] == list(range(100, 0, -1))
        assert metrics[0].message.startswith("Step 100/100: training loss=")
        assert any("validation loss" in e.message for e in metrics)
        assert events[0].message == "The job has successfully completed"

        content = client.files.content(job.result_files[0]).read()
        rows = list(csv.DictReader(io.StringIO(base64.b64decode(content).decode())))
        assert [int(r["step"]) for r in rows] == list(range(1, 101))
        by_step = {e.data["step"]: e.data for e in metrics}
        assert all(float(r["train_loss"]) == by_step[int(r["step"])]["train_loss"] for r in rows)

        ckpts = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert [c.step_number for c in ckpts] == [100, 80, 60]
        assert job.fine_tuned_model in {m.id for m in client.models.list()}


def test_running_jobs_show_progress_before_they_finish():
    with Emulator("empty", speed=100) as emu:
        client = openai_client(emu)
        train = client.files.create(file=("train.jsonl", _chat_file(30)), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=train.id)
        job, _ = _wait(client, job.id, {"running"})
        assert job.estimated_finish and job.hyperparameters.n_epochs == 3
        time.sleep(0.1)
        steps = [e.data["step"] for e in client.fine_tuning.jobs.list_events(job.id, limit=500) if e.type == "metrics"]
        assert 0 < max(steps) < 90
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"


def test_cancel_pause_and_resume_behave_as_the_api_does():
    with Emulator("empty", speed=100) as emu:
        client = openai_client(emu)
        train = client.files.create(file=("train.jsonl", _chat_file(30)), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id)
        with pytest.raises(openai.BadRequestError):
            client.fine_tuning.jobs.pause(job.id)  # not running yet
        _wait(client, job.id, {"running"})
        paused = client.fine_tuning.jobs.pause(job.id)
        assert paused.status == "paused"
        steps_at_pause = emu.workspace.jobs[job.id].steps_done(emu.workspace.now())
        time.sleep(0.2)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
        assert emu.workspace.jobs[job.id].steps_done(emu.workspace.now()) == steps_at_pause
        resumed = client.fine_tuning.jobs.resume(job.id)
        assert resumed.status == "queued"
        job_after, seen = _wait(client, job.id, {"succeeded"})
        assert "running" in seen
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
        assert "Fine-tuning job paused" in messages and "Fine-tuning job resumed" in messages
        steps = [int(m.split("/")[0].split()[-1]) for m in messages if m.startswith("Step ")]
        assert sorted(steps) == list(range(1, 91))  # no step lost or repeated across the pause
        with pytest.raises(openai.BadRequestError):
            client.fine_tuning.jobs.cancel(job.id)  # already succeeded

        second = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id)
        _wait(client, second.id, {"running"})
        cancelled = client.fine_tuning.jobs.cancel(second.id)
        assert cancelled.status == "cancelled" and cancelled.finished_at and cancelled.fine_tuned_model is None
        time.sleep(0.1)
        again = client.fine_tuning.jobs.retrieve(second.id)
        assert again.status == "cancelled" and again.result_files == []


def test_a_bad_training_file_fails_validation_with_the_real_error():
    with Emulator("empty", speed=1000) as emu:
        client = openai_client(emu)
        few = client.files.create(file=("few.jsonl", _chat_file(4)), purpose="fine-tune")
        bad = client.files.create(file=("bad.jsonl", _chat_file(12) + b'{"messages": [\n'), purpose="fine-tune")
        for file_id, words in ((few.id, "must have at least 10 examples"), (bad.id, "Line 13")):
            job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id)
            job, _ = _wait(client, job.id, {"failed", "succeeded"})
            assert job.status == "failed" and job.error.code == "invalid_training_file"
            assert words in job.error.message and job.error.param == "training_file"


@pytest.mark.parametrize("kwargs,param", [
    ({"model": "gpt-9"}, "model"),
    ({"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs"),
    ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 3}}}}, "method.dpo.hyperparameters.beta"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 999}}}},
     "method.supervised.hyperparameters.batch_size"),
    ({"training_file": "file-nope"}, "training_file"),
    ({"suffix": "x" * 65}, "suffix"),
    ({"method": {"type": "reinforcement", "reinforcement": {}}}, "method.reinforcement.grader"),
])
def test_create_rejects_bad_requests_with_param_set(kwargs, param):
    with Emulator("empty") as emu:
        client = openai_client(emu)
        train = client.files.create(file=("t.jsonl", _chat_file(10)), purpose="fine-tune")
        args = {"model": "gpt-4o-mini-2024-07-18", "training_file": train.id, **kwargs}
        with pytest.raises(openai.BadRequestError) as err:
            client.fine_tuning.jobs.create(**args)
        assert err.value.param == param


def test_timeline_pause_arithmetic():
    plan = JobPlan(id="j", seed=1, model="m", method="supervised", training_file="f", validation_file=None,
                   n_train=10, created_at=0, validated_at=1, started_at=2, step_seconds=1,
                   hyperparameters={"n_epochs": 1, "batch_size": 1})
    assert plan.status(0.5) == "validating_files" and plan.status(1.5) == "queued"
    assert plan.steps_done(5) == 3 and plan.status(5) == "running"
    plan.pause(5)
    assert plan.status(50) == "paused" and plan.steps_done(50) == 3 and plan.planned_end == float("inf")
    plan.resume(50)
    assert plan.status(51) == "queued"  # 2 s in the queue after resuming
    assert plan.steps_done(52) == 3 and plan.steps_done(53) == 4
    assert plan.planned_end == 12 + 47 and plan.status(59) == "succeeded" and plan.finished_at(70) == 59
    assert plan.step_time(4) == 53 and plan.step_time(3) == 5
