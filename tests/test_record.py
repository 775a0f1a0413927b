"""`ftsync record` against the emulator (its /chat/completions answers, counted there), W&B offline:
the `outputs` table and artifact read back from the transaction log; cost first; resumable; a model
that no longer serves is one line."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftsync.emulator import Emulator, build_workspace
from ftsync.ledger import Ledger
from ftsync.record import store
from ftsync.record.prompts import examples_from
from ftsync.record.scores import score
from ftsync.wandb_offline import offline_runs

from .conftest import Clock
from .helpers import openai_client

ROOT = Path(__file__).resolve().parents[1]


def pick(emu, *, method: str = "supervised", train: str | None = None, model: str = "gpt-4") -> str:
    ws = emu.workspace
    for job_id in ws.job_ids():
        plan = ws.jobs[job_id]
        if plan.status(ws.now()) != "succeeded" or plan.method != method or not plan.model.startswith(model):
            continue
        if train is None or ws.files[plan.training_file].filename == train:
            return job_id
    raise LookupError((method, train, model))


def record(emu, env, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ftsync.cli", "record", *args], env=cli_env(emu, env),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def cli_env(emu, env) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": emu.api_key, "OPENAI_BASE_URL": emu.base_url}


def outputs_of(env, job_id: str):
    """The newest offline run of the job holding `outputs`, the table's rows, and the outputs artifact."""
    runs = [r for r in offline_runs(env["wandb"]) if r.run_id == job_id and any("outputs" in h for h in r.history)]
    run = runs[-1]
    artifact = run.artifact(f"outputs-{job_id}")
    table = json.loads(Path(artifact.files["outputs.table.json"]).read_text())
    rows = [dict(zip(table["columns"], r)) for r in table["data"]]
    return run, rows, artifact


@pytest.fixture
def emu():
    clock = Clock(time.time())
    with Emulator(build_workspace("demo", clock=clock)) as e:
        yield e


@pytest.mark.slow
def test_three_jobs_tools_dpo_and_checkpoints_with_base(emu, sync_env):
    tools = pick(emu, train="order_tools_train.jsonl", model="gpt-4.1-mini")
    dpo = pick(emu, method="dpo", model="gpt-4.1-mini")
    support = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    done = record(emu, sync_env, "--id", tools, "--id", dpo, "--id", support, "--checkpoints", "--base", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "Estimate: at most" in done.stdout and "openai.com/api/pricing" in done.stdout
    client = openai_client(emu)
    for job_id in (tools, dpo, support):
        job = client.fine_tuning.jobs.retrieve(job_id)
        run, rows, artifact = outputs_of(sync_env, job_id)
        examples = examples_from(client.files.content(job.validation_file).read(), limit=100)
        assert [r["line"] for r in rows] == [e.line for e in examples]  # one row per validation example
        models = artifact.metadata["models"]
        assert models["fine-tuned"] == job.fine_tuned_model and models["base"] == job.model
        assert any(role.startswith("checkpoint step") for role in models)
        for row, ex in zip(rows, examples):
            for role, model in models.items():
                # the answer the emulator gives this model for this prompt, asked again here
                again = client.chat.completions.create(model=model, messages=ex.messages, **ex.options)
                message = again.choices[0].message.model_dump(exclude_none=True)
                assert row[f"{role}: answer"] is not None
                assert row[f"{role}: exact_match"] == score(message, ex.reference, ex.rejected)["exact_match"]
        assert run.summary["outputs/fine-tuned/exact_match"] >= run.summary["outputs/base/exact_match"]
        assert "responses.jsonl" in artifact.files and run.resume
    _, rows, _ = outputs_of(sync_env, tools)
    # the prompt carries the example's tool call and tool result; the reference is the answer after them
    assert all("tool:" in r["prompt"] and "→ get_order_status(" in r["prompt"] for r in rows)
    assert all(r["fine-tuned: answer"] for r in rows)
    _, rows, _ = outputs_of(sync_env, dpo)
    assert all(r["rejected"] for r in rows) and {r["fine-tuned: closer_to_chosen"] for r in rows} <= {True, False}
    assert any(r["fine-tuned: closer_to_chosen"] is not None for r in rows)


def test_over_budget_nothing_is_sent(emu, sync_env):
    job_id = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    done = record(emu, sync_env, "--id", job_id, "--max-cost", "0.0001", "--yes")
    assert done.returncode == 1
    [line] = [x for x in done.stderr.splitlines() if x.strip()]
    assert "over --max-cost 0.0001 USD: nothing was sent" in line
    assert emu.api.chat.calls == {}  # not one request


def test_without_a_terminal_the_cost_needs_yes(emu, sync_env):
    job_id = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    done = record(emu, sync_env, "--id", job_id)
    assert done.returncode == 2 and "pass --yes" in done.stderr and emu.api.chat.calls == {}


def test_a_model_that_no_longer_serves_is_one_line_and_the_others_are_recorded(emu, sync_env):
    gone = pick(emu, model="gpt-4.1-nano")  # its base shut down on 2026-10-23
    fine = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    done = record(emu, sync_env, "--id", gone, "--id", fine, "--examples", "5", "--yes")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [x for x in done.stdout.splitlines() if "no longer serves" in x]
    assert lines and all(gone in x for x in lines)
    _, rows, _ = outputs_of(sync_env, fine)
    assert len(rows) == 5 and all(r["fine-tuned: answer"] for r in rows)


@pytest.mark.slow
def test_killed_midway_a_rerun_asks_each_example_once(sync_env):
    clock = Clock(time.time())
    with Emulator(build_workspace("demo", clock=clock), latency=0.05) as emu:
        job_id = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
        proc = subprocess.Popen([sys.executable, "-m", "ftsync.cli", "record", "--id", job_id, "--checkpoints",
                                 "--yes", "--concurrency", "4"], env=cli_env(emu, sync_env),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        ledger = Ledger.in_home(sync_env["home"])
        account = None
        deadline = time.monotonic() + 60
        while account is None or len([a for a in store.answers(ledger, account, job_id) if a.answer]) < 20:
            account = account or _account(ledger)
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = sum(emu.api.chat.calls.values())
        done = record(emu, sync_env, "--id", job_id, "--checkpoints", "--yes", "--concurrency", "4")
        assert done.returncode == 0, done.stderr[-2000:]
        answered = [a for a in store.answers(ledger, account, job_id) if a.answer]
        _, rows, artifact = outputs_of(sync_env, job_id)
        models = len(artifact.metadata["models"])
        assert len(answered) == len(rows) * models  # every example of every model answered
        asked_twice = sum(n - 1 for n in emu.api.chat.calls.values() if n > 1)
        assert asked_twice <= 4, asked_twice  # at most the requests in flight when it was killed
        assert sum(emu.api.chat.calls.values()) == len(rows) * models + asked_twice
        assert first >= 20


def _account(ledger: Ledger) -> str | None:
    with ledger.transaction() as db:
        row = db.execute("SELECT account FROM answers LIMIT 1").fetchone()
    return row["account"] if row else None


def test_jobs_json_says_until_when_each_model_serves_and_what_is_recorded(emu, sync_env):
    job_id = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    gone = pick(emu, model="gpt-4.1-nano")
    assert record(emu, sync_env, "--id", job_id, "--examples", "4", "--yes").returncode == 0
    listed = subprocess.run([sys.executable, "-m", "ftsync.cli", "jobs", "--json"], env=cli_env(emu, sync_env),
                            capture_output=True, text=True, timeout=120)
    rows = {r["id"]: r for r in map(json.loads, listed.stdout.splitlines())}
    today = time.gmtime()
    assert rows[job_id]["serves_until"] == "2027-01-14" and rows[job_id]["recorded"] == 4
    assert rows[job_id]["deadline_source"] == "the models endpoint's shutdown_date"
    assert rows[job_id]["days_left"] == (datetime.date(2027, 1, 14) - datetime.date(*today[:3])).days
    assert rows[gone]["serves_until"] == "2026-10-23" and rows[gone]["days_left"] < 0 and rows[gone]["recorded"] == 0
    running = next(r for r in rows.values() if r["status"] == "running")
    assert running["serves_until"] is None  # no model yet
    table = subprocess.run([sys.executable, "-m", "ftsync.cli", "jobs"], env=cli_env(emu, sync_env),
                           capture_output=True, text=True, timeout=120).stdout
    assert "serves until" in table and "2026-10-23 (gone)" in table


def test_azure_answers_through_each_jobs_deployment_and_a_missing_one_is_one_line(emu, sync_env):
    """Azure serves a fine-tuned model only once deployed: each job's model is asked through the
    deployment named for it; a job without one, and a deployment Azure does not have, are one line
    each, and the others are recorded."""
    deployed = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    wrong = pick(emu, train="order_tools_train.jsonl", model="gpt-4.1-mini")
    unnamed = pick(emu, method="dpo", model="gpt-4.1-mini")
    model = emu.workspace.jobs[deployed].fine_tuned_model
    emu.api.deployments = {"support-prod": model}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(AZURE_OPENAI_ENDPOINT=emu.azure_endpoint, AZURE_OPENAI_API_KEY=emu.api_key,
               OPENAI_API_VERSION="2024-10-21")
    done = subprocess.run([sys.executable, "-m", "ftsync.cli", "record", "--id", deployed, "--id", wrong, "--id", unnamed,
                           "--deployment", f"{deployed}=support-prod", "--deployment", f"{wrong}=orders-prod",
                           "--examples", "4", "--yes"], env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    said = done.stdout + done.stderr
    assert f"--deployment {unnamed}=NAME" in said
    assert [x for x in said.splitlines() if "Azure has no deployment 'orders-prod'" in x]
    assert "unknown price" not in said.lower()  # priced as the model the deployment serves
    _, rows, artifact = outputs_of(sync_env, deployed)
    assert len(rows) == 4 and all(r["fine-tuned: answer"] for r in rows)
    assert artifact.metadata["models"] == {"fine-tuned": "support-prod"}
    # each prompt reached the emulator once, through the deployment, as the model deployed there
    asked = {k.rsplit("\x00", 1)[1]: n for k, n in emu.api.chat.calls.items()}
    assert set(asked) == {model} and sum(emu.api.chat.calls.values()) == 4


def test_a_record_out_of_time_stops_asking_keeps_what_it_has_and_the_next_asks_the_rest(emu, sync_env):
    """The dashboard's time limit (RecordOptions.max_seconds): past it nothing more is sent; the
    answers so far are kept, and a record after it asks only the rest."""
    from ftsync.record.runner import RecordOptions, plan_record, run_record
    from ftsync.settings import OpenAISettings, WandbSettings

    job_id = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    emu.latency = 0.2
    options = RecordOptions(openai=OpenAISettings(api_key=emu.api_key, base_url=emu.base_url),
                            wandb=WandbSettings(mode="offline", dir=sync_env["wandb"]), job_ids=[job_id],
                            examples=20, concurrency=2, max_seconds=0.5, log_to_wandb=False)
    report = run_record(options, plan_record(options))
    first = sum(emu.api.chat.calls.values())
    assert 0 < first < 20 and report.stopped and f"{20 - first} examples left" in report.stopped
    emu.latency = 0.0
    options.max_seconds = None
    again = plan_record(options)
    assert len(again.tasks[0].done) == first  # what was answered is kept
    report = run_record(options, again)
    assert report.stopped is None and sum(emu.api.chat.calls.values()) == 20  # each example asked once


def test_fewer_examples_than_recorded_leave_nothing_to_ask(emu, sync_env):
    """Recorded 6, asked again for 4: nothing is left, so nothing is sent and no --yes is needed (the
    count of what was left was examples minus all answered lines: negative, taken for work to do)."""
    job_id = pick(emu, train="support_train.jsonl", model="gpt-4.1-2")
    assert record(emu, sync_env, "--id", job_id, "--examples", "6", "--yes").returncode == 0
    asked = sum(emu.api.chat.calls.values())
    done = record(emu, sync_env, "--id", job_id, "--examples", "4", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert [m["to_ask"] for m in report["models"]] == [0] and sum(emu.api.chat.calls.values()) == asked
