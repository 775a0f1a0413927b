"""Bad inputs: one clear line each, nothing lost, the other jobs still sync, a later sync completes."""

from __future__ import annotations

import pytest

from ftsync.cli import main
from ftsync.emulator import Emulator, build_workspace
from ftsync.ledger import Ledger
from ftsync.sync import sync_jobs

from .conftest import Clock
from .helpers import demo_job, openai_client
from .test_sync_engine import options, runs_by_job

SECRET = "sk-proj-SECRETkey-0123456789abcdefXYZ"


def test_deleted_training_file_makes_a_partial_job_completed_later(frozen_demo, sync_env):
    emu = frozen_demo
    victim = demo_job(emu, status="succeeded", method="dpo")
    other = demo_job(emu, status="succeeded", validation=True)
    file_id = emu.workspace.jobs[victim].training_file
    entry = emu.workspace.files.pop(file_id)  # deleted on OpenAI
    first = sync_jobs(options(emu, sync_env, job_ids=[victim, other]))
    got = {o.job_id: o for o in first.outcomes}
    assert got[other].outcome == "synced"
    assert got[victim].outcome == "partial" and not first.ok
    assert got[victim].message == f"training file {file_id}: not found (404): No such File object: {file_id}"
    record = Ledger.in_home(sync_env["home"]).get("", "OpenAI-Fine-Tune", victim)
    assert record.state == "partial" and file_id in record.error
    run = runs_by_job(sync_env)[victim][0]
    assert run.summary["status"] == "succeeded" and len(run.metrics()) == record.steps_synced  # everything else is there
    assert f"train-{file_id}" not in [a.name for a in run.artifacts]
    emu.workspace.files[file_id] = entry  # restored (e.g. re-uploaded under its id)
    second = sync_jobs(options(emu, sync_env, job_ids=[victim, other]))
    got = {o.job_id: o for o in second.outcomes}
    assert got[victim].outcome == "synced" and got[other].outcome == "skipped" and second.ok
    runs = runs_by_job(sync_env)[victim]
    assert len(runs) == 2 and runs[1].resume, [(r.path.name, r.resume, len(r.history)) for r in runs]
    assert runs[1].artifact(f"train-{file_id}").type == "training_files"
    assert runs[1].metrics() == []  # no step logged twice


def test_corrupt_result_file_fails_that_job_only_and_a_later_sync_completes_it(frozen_demo, sync_env):
    emu = frozen_demo
    victim = demo_job(emu, status="succeeded", validation=True)
    other = demo_job(emu, status="succeeded", method="dpo")
    result_id = openai_client(emu).fine_tuning.jobs.retrieve(victim).result_files[0]
    emu.faults.add(f"files.content:corrupt:id={result_id}")
    first = sync_jobs(options(emu, sync_env, job_ids=[victim, other], log_datasets=False))
    got = {o.job_id: o for o in first.outcomes}
    assert got[other].outcome == "synced"
    assert got[victim].outcome == "failed"
    assert got[victim].message == f"result file {result_id} of {victim} is corrupt: neither base64 nor UTF-8 CSV"
    assert victim not in runs_by_job(sync_env)  # nothing half-written
    assert Ledger.in_home(sync_env["home"]).get("", "OpenAI-Fine-Tune", victim).state == "failed"
    emu.faults.clear()
    second = sync_jobs(options(emu, sync_env, job_ids=[victim, other], log_datasets=False))
    assert {o.job_id: o.outcome for o in second.outcomes} == {victim: "synced", other: "skipped"}


def test_rate_limits_and_dropped_connections_are_ridden_out(frozen_demo, sync_env):
    emu = frozen_demo
    emu.faults.add("jobs.events:429:retry_after_ms=10:times=3")
    emu.faults.add("files.content:drop:times=2")
    picks = [demo_job(emu, status="succeeded", validation=True), demo_job(emu, status="succeeded", method="dpo")]
    report = sync_jobs(options(emu, sync_env, job_ids=picks))
    assert [o.outcome for o in report.outcomes] == ["synced", "synced"], [o.message for o in report.outcomes]
    assert emu.faults.rules[0].fired == 3 and emu.faults.rules[1].fired == 2


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_bad_key_is_one_line_exit_2_then_the_good_key_syncs(sync_env, monkeypatch, capsys):
    clock = Clock(1_800_000_000.0)
    with Emulator(build_workspace("demo", clock=clock), api_key=SECRET) as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-" + SECRET[-12:])
        code, out, err = _cli(capsys, "sync", "-n", "2", "--no-datasets")
        assert code == 2 and out == ""
        assert err.strip() == "ftsync sync: OpenAI rejected the API key (401 invalid_api_key); check the key and base URL"
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        code, out, err = _cli(capsys, "sync", "-n", "8")
        assert code == 0, out + err
        assert "8 jobs: 3 synced, 5 partial" in out and "wandb sync " in out
        code, out, err = _cli(capsys, "sync", "-n", "8")
        assert code == 0 and "8 jobs: 8 skipped" in out
        code, out, err = _cli(capsys, "jobs", "--json")
        assert code == 0 and out.count('"sync_state": "synced"') == 3 and out.count('"sync_state": "synced so far"') == 5
        code, out, err = _cli(capsys, "sync", "--id", "ftjob-nope")
        assert code == 1 and "ftjob-nope" in out and "not found (404)" in out
    # secrets never leave memory: not in any file the sync wrote, nor in what it printed
    for root in sync_env.values():  # ledger, cache, offline runs, W&B's own data, cache and config
        for path in root.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in out + err


def test_cli_usage_errors_exit_2(sync_env, capsys):
    code, _, err = _cli(capsys, "sync", "-n", "0")
    assert code == 2 and err.strip() == ("ftsync sync: argument -n/--n_fine_tunes/--n-fine-tunes: must be at least 1, "
                                         "not 0 (see ftsync sync --help)")
    code, _, err = _cli(capsys, "sync")
    assert code == 2 and err.strip() == "ftsync sync: no OpenAI API key: pass one or set OPENAI_API_KEY"


def test_online_mode_without_a_key_is_refused_before_anything(sync_env, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    code, _, err = _cli(capsys, "sync")
    assert code == 2 and "W&B online mode needs an API key" in err


@pytest.mark.parametrize("kwargs", [{"id": "x"}, {"name": "n"}, {"job_type": "t"}])
def test_reserved_wandb_init_kwargs_are_refused(frozen_demo, sync_env, kwargs):
    from ftsync import WandbLogger
    from ftsync.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot be passed"):
        WandbLogger.sync(openai_client=openai_client(frozen_demo), **kwargs)


@pytest.mark.slow
def test_a_sync_killed_midway_loses_nothing(sync_env, tmp_path):
    """SIGKILL a CLI sync in the middle; the next sync completes every job and exits 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    clock = Clock(1_800_000_000.0)
    with Emulator(build_workspace("demo", clock=clock), api_key=SECRET) as emu:
        # as from a fresh terminal: without WANDB_SERVICE, which wandb sets in this test process so that
        # children share its wandb-core (a killed child's open run would then block the next sync's)
        env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
        env.update(OPENAI_BASE_URL=emu.base_url, OPENAI_API_KEY=SECRET)
        cmd = [sys.executable, "-m", "ftsync.cli", "sync", "-n", "12", "--workers", "2"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ledger = Ledger.in_home(sync_env["home"])
        deadline = time.monotonic() + 120
        while not ledger.all_records():  # wait until it is really under way
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done_before = len(ledger.all_records())
        assert done_before < 12
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr
        records = {r.job_id: r for r in ledger.all_records()}
        assert len(records) == 12
        assert {r.state for r in records.values()} <= {"synced", "partial"}
        newest = emu.workspace.job_ids()[:12]
        assert set(records) == set(newest)
