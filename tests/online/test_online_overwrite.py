"""Overwriting and re-creating runs online, against the W&B test backend with the real wandb SDK:
`--force` / `overwrite=True` rewinds the run so every step is there once (or refuses in one line
where the server cannot rewind), and a run deleted in W&B (or a ledger used against another server)
is synced again, complete, saying why."""

from __future__ import annotations

import pytest

from ftsync import WandbLogger
from ftsync.integration import GONE

from ..helpers import demo_job, openai_client
from ..wandb_backend import WandbBackend
from .conftest import ENTITY, KEY, PROJECT
from .test_online_sync import check_workspace, cli, expected_rows, metric_rows, online

pytestmark = pytest.mark.slow


def steps_of(backend, job_id: str) -> list[int]:
    return [r["step"] for r in metric_rows(backend.run(ENTITY, PROJECT, job_id))]


def one_job(emu, job_id: str):
    """The workspace narrowed to one job, for check_workspace."""
    emu.workspace.job_ids = lambda: [job_id]  # type: ignore[method-assign]
    return emu


@pytest.mark.parametrize("face", ["cli", "wandb_logger"])
def test_force_rewinds_the_run_so_every_step_is_there_once(online_env, backend, frozen_demo, monkeypatch, face):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    want = [r["step"] for r in expected_rows(emu, job_id)]
    assert cli(online(backend, emu), "--id", job_id).returncode == 0
    assert steps_of(backend, job_id) == want
    if face == "cli":
        forced = cli(online(backend, emu), "--id", job_id, "--force")
        assert forced.returncode == 0, forced.stdout + forced.stderr[-2000:]
    else:
        monkeypatch.setenv("WANDB_API_KEY", KEY)
        monkeypatch.setenv("WANDB_BASE_URL", backend.base_url)
        assert WandbLogger.sync(fine_tune_job_id=job_id, openai_client=openai_client(emu), entity=ENTITY,
                                project=PROJECT, overwrite=True) is not None
    assert steps_of(backend, job_id) == want  # not twice: W&B cut the run back to step 0 first
    assert "RewindRun" in backend.operations()
    check_workspace(backend, one_job(emu, job_id))


def test_force_where_the_server_cannot_rewind_writes_nothing_and_says_so(online_env, frozen_demo):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    with WandbBackend(api_keys={KEY: ENTITY}, rewind=False) as backend:
        assert cli(online(backend, emu), "--id", job_id).returncode == 0
        lines = len(backend.run(ENTITY, PROJECT, job_id).history)
        forced = cli(online(backend, emu), "--id", job_id, "--force")
        assert forced.returncode == 1
        [line] = [x for x in forced.stdout.splitlines() if x.startswith(f"  {job_id}:")]
        assert "cannot rewind runs" in line and "nothing was written" in line and "Traceback" not in forced.stderr
        assert len(backend.run(ENTITY, PROJECT, job_id).history) == lines  # no step twice
        assert backend.errors == []


def test_a_run_deleted_in_wandb_is_synced_again_complete(online_env, backend, frozen_demo):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    assert cli(online(backend, emu), "--id", job_id).returncode == 0
    backend.delete_run(ENTITY, PROJECT, job_id)
    runs_listed = backend.operations().count("Runs")
    again = cli(online(backend, emu))  # every job: the listing tells which are gone
    assert again.returncode == 0, again.stderr[-2000:]
    assert backend.operations().count("Runs") == runs_listed + 1  # one listing for the project, not a query per job
    line = next(x for x in again.stdout.splitlines() if x.startswith(job_id))
    assert "synced" in line and "gone from W&B" in line
    assert steps_of(backend, job_id) == [r["step"] for r in expected_rows(emu, job_id)]
    check_workspace(backend, one_job(emu, job_id))


def test_a_ledger_used_against_another_server_syncs_there_too(online_env, backend, frozen_demo):
    emu = frozen_demo
    job_id = demo_job(emu, status="succeeded", validation=True)
    assert cli(online(backend, emu), "--id", job_id).returncode == 0
    with WandbBackend(api_keys={KEY: ENTITY}) as other:  # same entity and project names, same ledger
        moved = cli(online(other, emu), "--id", job_id)
        assert moved.returncode == 0, moved.stderr[-2000:]
        assert GONE.split(":")[0] in moved.stdout
        assert steps_of(other, job_id) == [r["step"] for r in expected_rows(emu, job_id)]
        assert other.errors == []
