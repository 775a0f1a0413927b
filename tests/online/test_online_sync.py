"""ftsync online, end to end: the demo workspace into the W&B test backend through the CLI and through
`WandbLogger.sync`, read back from the backend's state."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftsync import WandbLogger
from ftsync.emulator import Emulator
from ftsync.ledger import Ledger
from ftsync.source import fetch_snapshot, retrieve_job
from ftsync.snapshot import TERMINAL_STATUSES

from ..helpers import demo_job, openai_client
from .conftest import ENTITY, KEY, OTHER_KEY, PROJECT

pytestmark = pytest.mark.slow


def cli(env_extra: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE", "WANDB_API_KEY")}  # own wandb-core
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "ftsync.cli", "sync", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def online(backend, emu: Emulator, key: str = KEY) -> dict[str, str]:
    return {"OPENAI_API_KEY": emu.api_key, "OPENAI_BASE_URL": emu.base_url, "WANDB_API_KEY": key,
            "WANDB_BASE_URL": backend.base_url, "WANDB_ENTITY": ENTITY}


def expected_rows(emu: Emulator, job_id: str) -> list[dict]:
    client = openai_client(emu)
    snap = fetch_snapshot(client, retrieve_job(client, job_id), None, log_datasets=False)
    return [{k: v for k, v in row.items() if v == v} for row in snap.metrics.to_dict("records")]


def metric_rows(run) -> list[dict]:
    """History rows as metrics: W&B's own `_` keys and media (tables) left out; `step` from `_step`."""
    rows = []
    for row in run.history_rows():
        metrics = {k: v for k, v in row.items() if not k.startswith("_") and not isinstance(v, dict)}
        if metrics:
            rows.append({"step": row["_step"], **metrics})
    return rows


def check_workspace(backend, emu: Emulator) -> None:
    """Each job's run holds exactly its metric rows, config and summary; datasets are its inputs;
    job_details and the model are committed with aliases latest and the job id."""
    client = openai_client(emu)
    for job_id in emu.workspace.job_ids():
        job = retrieve_job(client, job_id)
        run = backend.run(ENTITY, PROJECT, job_id)
        want = expected_rows(emu, job_id)
        got = metric_rows(run)
        if job["status"] not in TERMINAL_STATUSES:  # a live job: what it had when synced
            want = want[: len(got)]
        assert [r["step"] for r in got] == [r["step"] for r in want], job_id
        for g, w in zip(got, want):
            assert g == pytest.approx(w), job_id
        config = run.config_values()
        assert config["id"] == job_id and config["model"] == job["model"]
        assert run.state == "finished"
        if job["status"] in TERMINAL_STATUSES:
            assert run.summary["status"] == job["status"]
        inputs = {a.split(":")[0] for a in _artifact_names(backend, run.inputs)}
        for role, key in (("train", "training_file"), ("valid", "validation_file")):
            if job.get(key):
                assert f"{role}-{job[key]}" in inputs, (job_id, inputs)
        if job["status"] in TERMINAL_STATUSES:
            _check_committed(backend, "job_details", job_id)
        if job["status"] == "succeeded":
            _check_committed(backend, "model-metadata", job_id)
    assert backend.errors == []


def _artifact_names(backend, ids: list[str]) -> list[str]:
    names = []
    for (entity, project, name), collection in backend.state.collections.items():
        names += [name for artifact_id in collection.versions if artifact_id in ids]
    return names


def _check_committed(backend, name: str, job_id: str) -> None:
    versions = backend.versions(ENTITY, PROJECT, name)
    tagged = [a for a in versions if job_id in backend.aliases(a)]
    assert len(tagged) == 1 and tagged[0].state == "COMMITTED", (name, job_id)


def test_the_demo_workspace_online_through_the_cli(online_env, backend, demo):
    done = cli(online(backend, demo))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "W&B online" in done.stdout and backend.base_url in done.stdout
    check_workspace(backend, demo)
    assert backend.keys_used() == {KEY}


def test_a_fresh_machine_logs_nothing_wandb_already_holds(online_env, backend, demo, tmp_path):
    assert cli(online(backend, demo)).returncode == 0
    before = len(backend.requests)
    fresh = online(backend, demo) | {"FTSYNC_HOME": str(tmp_path / "fresh-home")}
    again = cli(fresh)
    assert again.returncode == 0, again.stderr
    writes = [r for r in backend.requests[before:] if r.operation in ("UpsertBucket", "CreateArtifact")
              or "file_stream" in r.path]
    finished = [j for j in demo.workspace.job_ids() if demo.workspace.jobs[j].status(demo.workspace.now()) == "succeeded"]
    # succeeded jobs are known from W&B (reconcile) and skipped; only unfinished ones are synced again
    rewritten = {r.path.split("/")[4] for r in writes if "file_stream" in r.path}
    assert not rewritten & set(finished)
    assert "skipped" in again.stdout
    operations = [r.operation for r in backend.requests[before:]]
    assert "Runs" in operations and "Run" not in operations  # summaries come with the listing (lazy=False)


def test_the_demo_workspace_online_through_wandb_logger(online_env, backend, demo, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    monkeypatch.setenv("WANDB_BASE_URL", backend.base_url)
    WandbLogger.sync(openai_client=openai_client(demo), num_fine_tunes=None, entity=ENTITY, project=PROJECT,
                     wait_for_job_success=False)  # live demo jobs run for hours
    check_workspace(backend, demo)


def test_a_running_job_resumed_online_repeats_no_step(online_env, backend, frozen_demo):
    job_id = demo_job(frozen_demo, status="running")
    env = online(backend, frozen_demo)
    assert cli(env, "--id", job_id).returncode == 0
    first = [r["_step"] for r in backend.run(ENTITY, PROJECT, job_id).history_rows()]
    plan = frozen_demo.workspace.jobs[job_id]
    frozen_demo.clock.now = plan.created_at + 10 * 24 * 3600  # long finished
    assert cli(env, "--id", job_id).returncode == 0
    steps = [r["_step"] for r in backend.run(ENTITY, PROJECT, job_id).history_rows()]
    assert len(steps) == len(set(steps)) and steps == sorted(steps) and len(steps) > len(first) > 0
    assert steps[: len(first)] == first
    assert [r["step"] for r in metric_rows(backend.run(ENTITY, PROJECT, job_id))] == \
        [r["step"] for r in expected_rows(frozen_demo, job_id)]


def test_a_changed_dataset_makes_a_new_artifact_version(online_env, backend, fresh_demo, tmp_path):
    job_id = demo_job(fresh_demo, status="succeeded")
    file_id = retrieve_job(openai_client(fresh_demo), job_id)["training_file"]
    env = online(backend, fresh_demo)
    assert cli(env, "--id", job_id).returncode == 0
    entry = fresh_demo.workspace.files[file_id]
    entry.source = b"".join(entry.chunks()) + (
        b'{"messages": [{"role": "user", "content": "one more"}, {"role": "assistant", "content": "example"}]}\n')
    # a new machine (the old one's file cache holds the old content), re-logging the job
    env["FTSYNC_HOME"] = str(tmp_path / "second-machine")
    assert cli(env, "--id", job_id, "--force").returncode == 0
    versions = backend.versions(ENTITY, PROJECT, f"train-{file_id}")
    assert [a.version for a in versions] == ["v0", "v1"]
    assert "latest" in backend.aliases(versions[1]) and "latest" not in backend.aliases(versions[0])


@pytest.mark.parametrize("case", ["rejected", "malformed", "unreachable", "storm"])
def test_wandb_failures_end_in_one_line(online_env, backend, demo, tmp_path, case):
    env = online(backend, demo)
    if case == "rejected":
        env["WANDB_API_KEY"] = "0" * 40
    elif case == "malformed":
        env["WANDB_API_KEY"] = "short"
    elif case == "unreachable":
        import socket

        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            env["WANDB_BASE_URL"] = f"http://127.0.0.1:{s.getsockname()[1]}"
    else:
        backend.fail_all(500, "any")
    started = time.monotonic()
    done = cli(env, "-n", "3")
    assert time.monotonic() - started < 120
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "0" * 40 not in done.stderr
    words = {"rejected": "rejected the API key", "malformed": "malformed", "unreachable": "cannot reach W&B",
             "storm": "W&B"}
    assert words[case] in lines[0]
    records = Ledger.in_home(Path(os.environ["FTSYNC_HOME"])).all_records()
    assert not [r for r in records if r.state == "synced"]


def test_two_users_in_one_process_reach_only_their_own_server(online_env, demo, tmp_path):
    """Two dashboard visitors: different W&B keys and servers, syncing at the same time in one process."""
    import threading

    from wandb.sdk import wandb_setup

    from ftsync.settings import OpenAISettings, WandbSettings
    from ftsync.sync import SyncOptions, sync_jobs

    from ..wandb_backend import WandbBackend

    settings = wandb_setup.singleton().settings
    before = (settings.api_key, settings.base_url)  # whatever earlier tests of this process left
    with WandbBackend(api_keys={KEY: ENTITY}) as first, WandbBackend(api_keys={OTHER_KEY: "other-team"}) as second:
        ids = demo.workspace.job_ids()
        reports = {}

        def sync(name: str, key: str, server: str, job_ids: list[str]) -> None:
            reports[name] = sync_jobs(SyncOptions(
                openai=OpenAISettings(api_key=demo.api_key, base_url=demo.base_url),
                wandb=WandbSettings(api_key=key, base_url=server, mode="online", dir=tmp_path / name),
                home=tmp_path / f"home-{name}", job_ids=job_ids))

        threads = [threading.Thread(target=sync, args=("a", KEY, first.base_url, ids[:4])),
                   threading.Thread(target=sync, args=("b", OTHER_KEY, second.base_url, ids[4:8]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert all(o.outcome in ("synced", "partial") for r in reports.values() for o in r.outcomes)
        assert first.keys_used() == {KEY} and second.keys_used() == {OTHER_KEY}
        assert (settings.api_key, settings.base_url) == before  # the process's own W&B state, untouched
        for path in tmp_path.rglob("*"):
            if path.is_file() and path.stat().st_size < 50_000_000:
                data = path.read_bytes()
                assert KEY.encode() not in data and OTHER_KEY.encode() not in data, path


def test_the_cli_uses_the_wandb_login_of_the_server(online_env, backend, demo, tmp_path):
    """No WANDB_API_KEY: the key `wandb login` saved for this server (netrc) is used, as wandb itself would."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login user\n  password {KEY}\n")
    netrc.chmod(0o600)
    env = online(backend, demo) | {"NETRC": str(netrc)}
    del env["WANDB_API_KEY"]
    done = cli(env, "-n", "1")
    assert done.returncode == 0, done.stderr
    assert "W&B online" in done.stdout and backend.keys_used() == {KEY}
