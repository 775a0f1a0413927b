"""The demo workspace is realistic and complete; the bench workspace is generated to size, lazily."""

from __future__ import annotations

import base64
import json
from collections import Counter

import httpx
import pytest

from ftsync.emulator import Emulator, build_workspace

from .helpers import openai_client


@pytest.fixture(scope="module")
def demo_jobs(demo):
    return list(openai_client(demo).fine_tuning.jobs.list(limit=100))


def test_demo_has_every_status_and_method(demo_jobs):
    assert len(demo_jobs) >= 30
    statuses = Counter(j.status for j in demo_jobs)
    assert {"succeeded", "failed", "cancelled", "running", "queued", "paused", "validating_files"} <= set(statuses)
    assert {j.method.type for j in demo_jobs} == {"supervised", "dpo", "reinforcement"}
    assert {"babbage-002", "davinci-002"} <= {j.model for j in demo_jobs}
    for job in demo_jobs:
        if job.status == "failed":
            assert job.error.code and job.error.message
    training = Counter(j.training_file for j in demo_jobs)
    assert max(training.values()) >= 3  # training files are shared between jobs
    assert any(j.validation_file for j in demo_jobs) and any(not j.validation_file for j in demo_jobs)


def _lines(client, file_id):
    return [json.loads(line) for line in client.files.content(file_id).read().splitlines() if line.strip()]


def test_demo_files_cover_every_dataset_format(demo, demo_jobs):
    client = openai_client(demo)
    seen = set()
    for file_id in {j.training_file for j in demo_jobs} | {j.validation_file for j in demo_jobs if j.validation_file}:
        try:
            examples = _lines(client, file_id)
        except json.JSONDecodeError:
            seen.add("malformed")  # the demo's broken file, for the failed-validation job
            continue
        first = examples[0]
        if "prompt" in first:
            seen.add("legacy")
        elif "preferred_output" in first:
            seen.add("dpo")
        elif "compliant" in first:
            seen.add("rft")
        elif "tools" in first:
            assert any("tool_calls" in m for m in first["messages"])
            seen.add("tools")
        elif any(isinstance(m["content"], list) for m in first["messages"]):
            seen.add("vision")
        elif any("weight" in m for e in examples for m in e["messages"]):
            seen.add("weighted")
        elif any(len(e["messages"]) > 3 for e in examples):
            seen.add("multiturn")
        else:
            assert first["messages"][0]["role"] == "system"
            seen.add("chat")
    assert seen == {"legacy", "dpo", "rft", "tools", "vision", "weighted", "multiturn", "chat", "malformed"}


def test_demo_result_files_use_both_column_spellings(demo, demo_jobs):
    client = openai_client(demo)
    headers = set()
    for job in demo_jobs:
        if job.status == "succeeded":
            headers.add(base64.b64decode(client.files.content(job.result_files[0]).read()).decode().splitlines()[0])
    assert "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy" in headers
    assert ("step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy,"
            "full_valid_loss,full_valid_mean_token_accuracy") in headers


def test_demo_checkpoints_keep_the_last_three(demo, demo_jobs):
    client = openai_client(demo)
    for job in demo_jobs:
        ckpts = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert len(ckpts) <= 3
        if job.status == "succeeded":
            assert len(ckpts) >= 2 and ckpts[0].fine_tuned_model_checkpoint == job.fine_tuned_model


def test_demo_rft_events_carry_nested_metrics(demo, demo_jobs):
    client = openai_client(demo)
    rft = next(j for j in demo_jobs if j.method.type == "reinforcement" and j.status == "succeeded")
    metrics = [e for e in client.fine_tuning.jobs.list_events(rft.id, limit=1000) if e.type == "metrics"]
    assert metrics and all("scores" in e.data and "train_mean_reward" in e.data for e in metrics)
    assert any("full_valid_mean_reward" in e.data for e in metrics)
    assert metrics[0].message.startswith(f"Step {metrics[0].data['step']}/")


def test_demo_live_job_advances_by_the_clock():
    clock = [1_800_000_000.0]
    ws = build_workspace("demo", clock=lambda: clock[0])
    running = [p for p in ws.jobs.values() if p.status(clock[0]) == "running"]
    assert len(running) == 2
    before = [p.steps_done(clock[0]) for p in running]
    clock[0] += 60
    after = [p.steps_done(clock[0]) for p in running]
    assert all(b < a for b, a in zip(before, after))
    clock[0] += 10 * 86400
    assert all(p.status(clock[0]) == "succeeded" for p in running)


def test_bench_is_lazy_and_exact():
    ws = build_workspace("bench", jobs=1000, steps=2000, file_bytes=500_000_000)
    assert len(ws.jobs) == 1000 and all(p.total_steps == 2000 for p in ws.jobs.values())
    big = next(iter(ws.files.values()))
    assert big.size == 500_000_000 // 512 * 512
    with Emulator(ws) as emu:
        client = openai_client(emu)
        last = ws.job_ids()[-1]
        job = client.fine_tuning.jobs.retrieve(last)
        assert job.status == "succeeded"
        csv = base64.b64decode(client.files.content(job.result_files[0]).read()).decode()
        assert len(csv.splitlines()) == 2001
        assert client.files.retrieve(big.id).bytes == big.size
        with httpx.stream("GET", f"{emu.base_url}/files/{big.id}/content",
                          headers={"Authorization": f"Bearer {emu.api_key}"}) as response:
            assert int(response.headers["content-length"]) == big.size
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) > 200_000:
                    break
        lines = head.split(b"\n")[:-1]
        assert all(len(line) == 511 for line in lines)  # 512 with the newline
        examples = [json.loads(line) for line in lines]
        assert len({e["messages"][2]["content"] for e in examples}) == len(examples)


@pytest.mark.slow
def test_bench_500mb_file_streams_whole():
    with Emulator("bench", jobs=1, steps=10, file_bytes=500_000_000, validation=False) as emu:
        file_id = next(iter(emu.workspace.files))
        total = lines = 0
        with httpx.stream("GET", f"{emu.base_url}/files/{file_id}/content",
                          headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=120) as response:
            for chunk in response.iter_bytes(1 << 20):
                total += len(chunk)
                lines += chunk.count(b"\n")
        assert total == emu.workspace.files[file_id].size and lines == total // 512


def test_two_workspaces_with_the_same_job_ids_serve_their_own_result_files():
    """Bench workspaces reuse job ids; a result file rendered for one must not be served by another
    (it was: a 50 x 2,000-step benchmark got the 30-600-step files of an earlier workspace)."""
    import base64

    from openai import OpenAI

    from ftsync.emulator import Emulator

    rows = []
    for steps in (30, 200):
        with Emulator("bench", jobs=1, steps=[steps]) as emu:
            client = OpenAI(base_url=emu.base_url, api_key=emu.api_key)
            job = client.fine_tuning.jobs.list().data[0]
            rows.append(len(base64.b64decode(client.files.content(job.result_files[0]).read()).splitlines()) - 1)
    assert rows == [30, 200]
