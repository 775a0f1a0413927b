"""`ftsync watch` online: a running job's steps reach the W&B test backend each cycle, none twice."""

from __future__ import annotations

import pytest

from ftsync.emulator import Emulator
from ftsync.exits import EXIT_OK

from ..helpers import openai_client
from ..test_watch import Watch, new_job
from .conftest import ENTITY, KEY, PROJECT

pytestmark = pytest.mark.slow


def test_a_running_job_grows_on_wandb_each_cycle_and_ends_complete(online_env, backend):
    with Emulator("empty", speed=25, api_key="sk-proj-onlineWATCH-0123456789abcdef") as emu:
        job = new_job(openai_client(emu))  # about 10 s of training at this speed
        env = {"WANDB_API_KEY": KEY, "WANDB_BASE_URL": backend.base_url, "WANDB_ENTITY": ENTITY}
        w = Watch(emu, "--interval", "2", key=emu.api_key, env=env)
        try:
            seen = []
            for _ in range(2):  # two cycles while it runs: the run on W&B grows
                w.wait_for(r"cycle \d+ \(poll\): 1 job · 1 live")
                run = backend.state.run(ENTITY, PROJECT, job.id)  # none yet while the job is queued
                seen.append(len(run.history_rows()) if run else 0)
            w.wait_for(r"cycle \d+ \(poll\): 1 job · 1 synced", timeout=60)
            assert w.stop() == EXIT_OK
        finally:
            w.kill()
    steps = [r["_step"] for r in backend.run(ENTITY, PROJECT, job.id).history_rows()]
    assert len(steps) == len(set(steps)) and sorted(steps) == list(range(1, 101))
    assert seen[0] <= seen[1] < len(steps), seen  # synced in parts: live, then the rest once it ended
    assert backend.keys_used() == {KEY} and backend.errors == []
