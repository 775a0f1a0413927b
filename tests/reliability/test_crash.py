"""A sync killed at any point loses nothing and leaves nothing that a later sync would log twice."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ftsync.attempts import run_folders
from ftsync.emulator import Emulator, build_workspace
from ftsync.filecache import FileCache, TEMP_PREFIX
from ftsync.ledger import Ledger

from ..conftest import Clock
from ..helpers import openai_client
from ..test_sync_engine import check_run, runs_by_job

KEY = "sk-proj-crashTEST-0123456789abcdefXYZ"
JOBS = 12


def _attempts(home, since: float = 0.0) -> list[tuple[str, list[str]]]:
    """Runs being written, as the ledger says (see ftsync.attempts): job id, known folders."""
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        try:
            return [(job, json.loads(known)) for job, known in
                    db.execute("SELECT job_id, known FROM attempts WHERE started_at > ?", (since,))]
        except sqlite3.OperationalError:  # the ledger is being created
            return []


def _writing(home, runs_dir, since: float) -> bool:
    """Whether a run is being written: an attempt begun since `since` whose new run folder has
    records in its transaction log already."""
    if not (home / "ledger.sqlite3").exists():
        return False
    for job, known in _attempts(home, since):
        for name in set(run_folders(runs_dir, job)) - set(known):
            if any(log.stat().st_size > 7 for log in (runs_dir / name).glob("run-*.wandb")):
                return True
    return False


def _recorded(home) -> int:
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        return db.execute("SELECT count(*) FROM syncs").fetchone()[0]


def _kill_while_writing(cmd, env, home, runs_dir, rng: random.Random, delay: float) -> int:
    """Start a sync, wait until a random number of jobs are recorded and a run is being written,
    then SIGKILL it up to `delay` seconds later. Returns how many runs it was writing when killed
    (-1: it finished first)."""
    started, done_first = time.time(), rng.randrange(0, JOBS // 2)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (_writing(home, runs_dir, started) and _recorded(home) >= done_first):
        if proc.poll() is not None:
            return -1
        assert time.monotonic() < deadline, "the sync never started writing a run"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, delay))
    if proc.poll() is not None:
        return -1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(_attempts(home, started))


@pytest.mark.slow
def test_syncs_killed_at_random_points_then_one_rerun_log_every_job_once(sync_env):
    """Proves: a killed sync's run folders are removed and the job resumes from what the ledger
    confirmed (ftsync.attempts; without it: a killed job's folder stays beside the re-run's, so its
    steps are in two folders), and a killed download's temp file is removed (FileCache)."""
    rng = random.Random(7)
    clock = Clock(1_800_000_000.0)
    with Emulator(build_workspace("demo", clock=clock), api_key=KEY) as emu:
        # as from a fresh terminal: without this test process's WANDB_SERVICE (its wandb-core)
        env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
        env.update(OPENAI_BASE_URL=emu.base_url, OPENAI_API_KEY=KEY)
        cmd = [sys.executable, "-m", "ftsync.cli", "sync", "-n", str(JOBS), "--workers", "2"]
        home = sync_env["home"]
        runs_dir = sync_env["wandb"] / "wandb"
        # the first kill lands as a run is written, the others at random moments after one has begun
        interrupted = [_kill_while_writing(cmd, env, home, runs_dir, rng, delay) for delay in (0.0, 0.5, 0.5)]
        assert interrupted[0] >= 1, interrupted
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr

        records = {r.job_id: r for r in Ledger.in_home(home).all_records()}
        newest = emu.workspace.job_ids()[:JOBS]
        assert set(records) == set(newest) and not _attempts(home)
        client = openai_client(emu)
        runs = runs_by_job(sync_env)
        for job_id in newest:
            job = client.fine_tuning.jobs.retrieve(job_id)
            folders = runs[job_id]
            steps = [row["_step"] for run in folders for row in run.history]
            assert len(steps) == len(set(steps)), f"{job_id}: a step logged twice across {len(folders)} folders"
            assert all(run.exit_code == 0 for run in folders), f"{job_id}: an unfinished run folder"
            if job.status in ("succeeded", "failed", "cancelled"):
                assert records[job_id].state == "synced"
                assert len(folders) == 1, [f.path.name for f in folders]  # the frozen jobs: one complete run
                check_run(emu, job, folders[0], datasets=True)
        cache = FileCache(home, "").root.parent.parent  # every key's cache
        assert not [p for p in cache.rglob(f"{TEMP_PREFIX}file-*")], "a killed download's temp file is left"


def test_a_killed_downloads_temp_file_is_removed_by_the_next_download(frozen_demo, sync_env):
    """Proves: FileCache removes what a killed download left (without it: the zero-byte temp stays)."""
    emu = frozen_demo
    client = openai_client(emu)
    file_id = next(f.id for f in client.files.list() if f.purpose == "fine-tune")
    meta = client.files.retrieve(file_id)
    cache = FileCache(sync_env["home"], "fp")
    cache.root.mkdir(parents=True)
    leftover = cache.root / f"{TEMP_PREFIX}{file_id}.k1ll3d"
    leftover.touch()
    path = cache.fetch(client, file_id, expected_size=meta.bytes)
    assert path.stat().st_size == meta.bytes
    assert sorted(p.name for p in cache.root.iterdir()) == [file_id]


def test_a_run_folder_whose_writer_died_is_not_listed_for_upload(tmp_path):
    """Proves: pending_uploads (the History page) skips a log without its header, as a writer killed
    at its start or on a full disk leaves it (without it: the page fails on "not a W&B transaction log")."""
    from ftsync.wandb_offline import pending_uploads

    folder = tmp_path / "wandb" / "offline-run-20261126_000000-ftjob-abc"
    folder.mkdir(parents=True)
    (folder / "run-ftjob-abc.wandb").write_bytes(b"")
    assert pending_uploads(tmp_path) == []
