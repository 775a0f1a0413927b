"""A full disk under WANDB_DIR or FTSYNC_HOME: one clear line, nothing marked synced that is not on
disk, and the next sync (with space again) completes every job, each step once.

The disks are real: a small tmpfs mounted for the test (this needs root, as CI runs; a machine
where it cannot be mounted fails the test, it does not skip it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftsync.emulator import Emulator, build_workspace
from ftsync.ledger import Ledger
from ftsync.wandb_offline import offline_runs, unwritten

from ..conftest import Clock

KEY = "sk-proj-fullDISK-0123456789abcdefXYZ"
JOBS = 12


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 4 MiB tmpfs; `fill(disk, left)` leaves `left` bytes free on it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"cannot mount a tmpfs to fill (these tests need root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, left: int) -> Path:
    st = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - left))
    return filler


def cli(emu: Emulator, env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"} | env
    env.update(OPENAI_BASE_URL=emu.base_url, OPENAI_API_KEY=KEY)
    cmd = [sys.executable, "-m", "ftsync.cli", "sync", "-n", str(JOBS), "--workers", "2"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def check_ledger_matches_disk(home: Path) -> dict[str, int]:
    """Every job the ledger calls synced or partial has its steps in its run folder, exit record
    included; returns the steps recorded per job."""
    steps = {}
    for record in Ledger.in_home(home).all_records():
        if record.state in ("synced", "partial"):
            assert unwritten(Path(record.run_path), record.steps_synced or None, settle=0) is None, record
        steps[record.job_id] = record.steps_synced
    return steps


def check_every_step_once(wandb_dir: Path) -> None:
    by_job: dict[str, list[int]] = {}
    for run in offline_runs(wandb_dir):
        assert run.exit_code == 0, f"an unfinished run folder: {run.path.name}"
        by_job.setdefault(run.run_id, []).extend(row["_step"] for row in run.history)
    for job_id, steps in by_job.items():
        assert len(steps) == len(set(steps)), f"{job_id}: a step logged twice"


@pytest.mark.slow
def test_a_full_wandb_dir_marks_nothing_synced_that_is_not_on_disk(small_disk, sync_env):
    """Proves: a run is recorded only once read back complete from its transaction log
    (wandb_offline.unwritten: without it, jobs are `synced` whose last steps never reached the disk),
    and a failed run's folder is removed (ftsync.attempts: without it, the next sync logs its steps
    again); one line per job, no traceback."""
    filler = fill(small_disk, 300_000)
    env = {"WANDB_DIR": str(small_disk)}
    with Emulator(build_workspace("demo", clock=Clock(1_800_000_000.0)), api_key=KEY) as emu:
        first = cli(emu, env)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "Traceback" not in first.stderr and "Logging error" not in first.stderr, first.stderr[-2000:]
        failed = [line for line in first.stdout.splitlines()  # the table's rows of failed jobs
                  if line.startswith("ftjob-") and line.split()[2] == "failed"]
        assert failed and all("No space left on device" in line or "did not write the whole run to disk" in line
                              for line in failed), first.stdout
        check_ledger_matches_disk(sync_env["home"])
        filler.unlink()  # space again
        second = cli(emu, env)
        assert second.returncode == 0, second.stdout + second.stderr
        after = check_ledger_matches_disk(sync_env["home"])
        assert len(after) == JOBS
        check_every_step_once(small_disk)


@pytest.mark.slow
def test_a_full_ftsync_home_stops_the_sync_in_one_line_and_loses_nothing(small_disk, sync_env, tmp_path):
    """Proves: a ledger that cannot be written stops the sync with one line and exit 2
    (errors.LedgerError; without it: a traceback, or jobs carrying on that can never be recorded), and
    what was written to W&B meanwhile is not logged again by the next sync (ftsync.attempts)."""
    home = small_disk / "home"
    Ledger.in_home(home)  # an existing ledger, on a disk that then fills up
    filler = fill(small_disk, 300_000)  # the file cache fills it midway
    env = {"FTSYNC_HOME": str(home)}
    with Emulator(build_workspace("demo", clock=Clock(1_800_000_000.0)), api_key=KEY) as emu:
        first = cli(emu, env)
        assert first.returncode == 2, first.stdout + first.stderr
        lines = first.stderr.strip().splitlines()
        assert len([line for line in lines if line.startswith("ftsync sync:")]) == 1, first.stderr
        assert lines[-1].startswith(f"ftsync sync: the disk holding the sync ledger {home}/ledger.sqlite3 is full;"), lines[-1]
        assert "move it aside" not in lines[-1]  # a healthy ledger on a full disk is never to be discarded
        assert "Traceback" not in first.stderr
        assert 0 < len(check_ledger_matches_disk(home)) < JOBS  # it stopped midway
        filler.unlink()
        second = cli(emu, env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert len(check_ledger_matches_disk(home)) == JOBS
        check_every_step_once(sync_env["wandb"])


@pytest.mark.slow
def test_a_read_only_ftsync_home_is_one_line_and_never_advice_to_discard(small_disk, sync_env):
    """Proves: a ledger on a read-only disk is said to be unwritable, with the advice to make it
    writable (ledger.ledger_problem; without it: "damaged ... move it aside"), in one line, exit 2.
    Root ignores file modes, so the disk itself is mounted read-only."""
    home = small_disk / "home"
    Ledger.in_home(home)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with Emulator(build_workspace("demo", clock=Clock(1_800_000_000.0)), api_key=KEY) as emu:
        done = cli(emu, {"FTSYNC_HOME": str(home)})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"ftsync sync: the sync ledger {home}/ledger.sqlite3 cannot be written"), lines[0]
    assert "make its folder writable or set FTSYNC_HOME" in lines[0] and "move it aside" not in lines[0]
