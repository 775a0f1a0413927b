"""`ftsync watch` end to end: the real CLI in its own process, the emulator's live jobs and signed
webhooks, W&B offline read back from its transaction logs, the ledger a real SQLite file."""

from __future__ import annotations

import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from ftsync.emulator import Emulator, build_workspace
from ftsync.emulator.webhooks import WebhookSender, delivery, new_secret
from ftsync.exits import EXIT_BUSY, EXIT_OK, EXIT_USAGE
from ftsync.ledger import Ledger

from .conftest import Clock
from .helpers import openai_client
from .test_emulator_live import _chat_file
from .test_sync_engine import check_run, runs_by_job
from .test_webhooks import post

pytestmark = pytest.mark.slow
KEY = "sk-proj-watchTEST-0123456789abcdefXYZ"


class Watch:
    """`ftsync watch ...` in a process of its own; its stdout lines read as they come."""

    def __init__(self, emu: Emulator, *args: str, secret: str | None = None, key: str = KEY,
                 env: dict[str, str] | None = None):
        # as from a fresh terminal: without this test process's WANDB_SERVICE (its wandb-core)
        env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"} | (env or {})
        env.update(OPENAI_BASE_URL=emu.base_url, OPENAI_API_KEY=key, PYTHONUNBUFFERED="1")
        if secret:
            env["OPENAI_WEBHOOK_SECRET"] = secret
        self.proc = subprocess.Popen([sys.executable, "-m", "ftsync.cli", "watch", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match:
        """The first line from now on matching `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._new.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} in {timeout} s:\n" + "\n".join(self.lines)) from None
            if m := re.search(pattern, line):
                return m

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)  # every line it printed is in self.lines
        return code

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def history(home, job_id: str) -> list[tuple[float, str, str]]:
    """(at, action, outcome) of a job's ledger history, oldest first."""
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        return db.execute("SELECT at, action, outcome FROM history WHERE job_id = ? ORDER BY id", (job_id,)).fetchall()


def new_job(client, examples: int = 20, **kw):
    train = client.files.create(file=("train.jsonl", _chat_file(examples)), purpose="fine-tune")
    return client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id, **kw)


def steps_once(env, job_id: str) -> list[int]:
    steps = [row["_step"] for run in runs_by_job(env)[job_id] for row in run.history]
    assert len(steps) == len(set(steps)), f"{job_id}: a step logged twice"
    return sorted(steps)


def test_a_job_ending_during_watch_is_synced_within_2_s_of_its_webhook(sync_env):
    """Proves items 2 and 3: the emulator's signed webhook wakes the watcher, which syncs that job at
    once although its next poll is a minute away; a forged delivery is refused and syncs nothing."""
    secret = new_secret()
    with Emulator("empty", speed=100, api_key=KEY) as emu:
        w = Watch(emu, "--interval", "60", "--webhook-port", "0", secret=secret)
        try:
            url = w.wait_for(r"webhooks at (http://127\.0\.0\.1:\d+/)").group(1)
            w.wait_for(r"cycle 1 \(poll\): 0 jobs")
            sender = WebhookSender(emu.workspace, url, secret, poll=0.02).start()
            client = openai_client(emu)
            job = new_job(client)  # 100 steps: about 2.3 s at this speed
            # a forged delivery for it, meanwhile: 400, and no sync follows
            body, headers = delivery(new_secret(), "fine_tuning.job.succeeded", job.id)
            assert post(url, body, headers)[0] == 400
            w.wait_for(r"cycle 2 \(webhook\): 1 job · 1 synced", timeout=60)
            sender.stop()
            assert [(s.job_id, s.event_type, s.status) for s in sender.sent] == [(job.id, "fine_tuning.job.succeeded", 200)]
            (at, action, outcome), = history(sync_env["home"], job.id)
            assert (action, outcome) == ("webhook", "synced")
            assert at - sender.sent[0].at < 2.0, f"synced {at - sender.sent[0].at:.2f} s after its webhook"
            print(f"synced {at - sender.sent[0].at:.2f} s after its webhook")
            # OpenAI delivering it again changes nothing
            body, headers = delivery(secret, "fine_tuning.job.succeeded", job.id, webhook_id=sender.sent[0].webhook_id)
            assert post(url, body, headers)[0] == 200
            time.sleep(1.0)
            assert not [line for line in w.lines if "cycle 3" in line] and len(history(sync_env["home"], job.id)) == 1
            assert w.stop() == EXIT_OK
        finally:
            w.kill()
        ended = client.fine_tuning.jobs.retrieve(job.id)
        check_run(emu, ended, runs_by_job(sync_env)[job.id][0], datasets=True)


def test_a_running_job_grows_each_cycle_and_is_complete_within_one_interval_of_ending(sync_env):
    """Proves item 1 and its acceptance: polling alone (no webhooks), a running job's new steps reach
    W&B each cycle with none repeated, and the finished job is synced within one interval."""
    interval = 2.0
    with Emulator("empty", speed=25, api_key=KEY) as emu:
        client = openai_client(emu)
        job = new_job(client)  # validation 0.8 s, queue 0.4 s, then 100 steps of 0.08 s
        w = Watch(emu, "--interval", str(interval))
        try:
            for _ in range(2):  # two cycles, at least, while it runs
                w.wait_for(r"cycle \d+ \(poll\): 1 job · 1 live")
            w.wait_for(r"cycle \d+ \(poll\): 1 job · 1 synced", timeout=30)
            ended = client.fine_tuning.jobs.retrieve(job.id)
            rows = history(sync_env["home"], job.id)
            assert [r[2] for r in rows].count("partial") >= 2, rows  # synced live at least twice
            assert rows[-1][1:] == ("watch", "synced")
            assert rows[-1][0] - ended.finished_at < interval + 3.0, "not synced within one interval of ending"
            print(f"synced {rows[-1][0] - ended.finished_at:.2f} s after it ended (interval {interval} s)")
            assert w.stop(signal.SIGINT) == EXIT_OK  # Ctrl+C: the same clean stop
        finally:
            w.kill()
        assert w.lines[-2] == "W&B offline: upload the runs this watcher wrote with:"
        assert w.lines[-1].startswith("  wandb sync ") and str(sync_env["wandb"]) in w.lines[-1]
        assert steps_once(sync_env, job.id) == list(range(1, 101))
        assert len(runs_by_job(sync_env)[job.id]) == len([r for r in rows if r[2] in ("partial", "synced")])


def test_sigterm_mid_cycle_then_a_restart_gives_every_job_complete_once(sync_env):
    """Proves: SIGTERM finishes the jobs being written, leaves the others (exit 0, nothing half
    recorded); the restarted watcher syncs the rest; each job complete, each step once."""
    clock = Clock(1_800_000_000.0)
    home = sync_env["home"]
    with Emulator(build_workspace("demo", clock=clock), api_key=KEY) as emu:
        w = Watch(emu, "--interval", "60", "--workers", "2", "-n", "12")
        try:
            deadline = time.monotonic() + 120
            while not (home / "ledger.sqlite3").exists() or not Ledger.in_home(home).all_records():
                assert time.monotonic() < deadline and w.proc.poll() is None, "\n".join(w.lines) + w.stderr()
                time.sleep(0.05)
            assert w.stop() == EXIT_OK, w.stderr()
        finally:
            w.kill()
        said = "\n".join(w.lines)
        assert "SIGTERM received; finishing the jobs being written" in w.stderr()
        first = re.search(r"cycle 1 \(poll\): 12 jobs · (.*)", said).group(1)
        assert "left for later" in first, said  # stopped mid-cycle
        done_before = {r.job_id for r in Ledger.in_home(home).all_records()}
        assert 0 < len(done_before) < 12

        again = Watch(emu, "--interval", "60", "--workers", "2", "-n", "12")
        try:
            again.wait_for(r"cycle 1 \(poll\): 12 jobs", timeout=240)
            assert again.stop() == EXIT_OK
        finally:
            again.kill()
        records = {r.job_id: r for r in Ledger.in_home(home).all_records()}
        newest = emu.workspace.job_ids()[:12]
        assert set(records) == set(newest)
        client = openai_client(emu)
        runs = runs_by_job(sync_env)
        for job_id in newest:
            job = client.fine_tuning.jobs.retrieve(job_id)
            steps_once(sync_env, job_id)
            if job.status in ("succeeded", "failed", "cancelled"):
                assert records[job_id].state == "synced" and len(runs[job_id]) == 1
                check_run(emu, job, runs[job_id][0], datasets=True)


def test_a_second_watcher_on_the_project_says_which_one_runs_and_exits(sync_env):
    with Emulator("empty", api_key=KEY) as emu:
        first = Watch(emu, "--interval", "60")
        try:
            first.wait_for(r"cycle 1 \(poll\)")
            second = subprocess.run([sys.executable, "-m", "ftsync.cli", "watch"], capture_output=True, text=True, check=False,
                                    timeout=60, env={**os.environ, "OPENAI_BASE_URL": emu.base_url, "OPENAI_API_KEY": KEY})
            assert second.returncode == EXIT_BUSY
            line, = second.stderr.strip().splitlines()
            assert line.startswith("ftsync watch: another watcher already keeps W&B project OpenAI-Fine-Tune in step "
                                   f"(pid {first.proc.pid} on ") and line.endswith("; this one exits")
            # another project is another watcher's business
            other = Watch(emu, "--interval", "60", "--project", "elsewhere")
            try:
                other.wait_for(r"cycle 1 \(poll\)")
                assert other.stop() == EXIT_OK
            finally:
                other.kill()
            assert first.stop() == EXIT_OK
        finally:
            first.kill()
        assert KEY not in second.stderr + "\n".join(first.lines)


def test_a_key_that_stays_rejected_stops_the_watcher_with_exit_2(sync_env):
    with Emulator("empty", api_key=KEY) as emu:
        w = Watch(emu, "--interval", "0.2", "--max-backoff", "0.4", "--auth-grace", "1.5",
                  key="sk-proj-wrongKEY-0000000000000000000")
        try:
            assert w.proc.wait(timeout=60) == EXIT_USAGE
        finally:
            w.kill()
        err = w.stderr().strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ftsync watch: OpenAI kept rejecting the key for ")
        assert "wrongKEY" not in err[0] + "\n".join(w.lines)
        cycles = [x for x in w.lines if re.search(r"cycle \d+ \(poll\): .*rejected", x)]
        assert len(cycles) >= 5  # retried, as a blip would be, before giving up
        assert "the key was rejected 1 time in a row: it stops once rejected for 1.5 s and 5 cycles" in "\n".join(w.lines)


def test_a_key_rejected_for_2_s_does_not_stop_the_watcher(sync_env):
    """Every request answered 401 for about 2 s, as during a key rotation: the watcher backs off,
    polls again and goes on; a stop afterwards prints no "next poll" after "stopped"."""
    with Emulator("empty", api_key=KEY) as emu:
        w = Watch(emu, "--interval", "0.3", "--max-backoff", "1")
        try:
            w.wait_for(r"cycle 1 \(poll\): 0 jobs")
            emu.api_key = "sk-proj-rotated-000000000000000000"  # every request now 401
            w.wait_for(r"cycle \d+ \(poll\): .*(rejected|401)")
            time.sleep(2)
            emu.api_key = KEY
            w.wait_for(r"cycle \d+ \(poll\): 0 jobs", timeout=20)
            assert w.proc.poll() is None  # still watching
            assert w.stop() == EXIT_OK
        finally:
            w.kill()
        after = w.lines[next(i for i, x in enumerate(w.lines) if "stopped after" in x):]
        assert not [x for x in after if "next poll" in x], after


def test_api_errors_back_off_then_polling_resumes(sync_env):
    # each failed cycle is the SDK's 7 tries (429, retry-after-ms 1): two cycles fail, the third lists
    faults = "jobs.list:429:retry_after=none:retry_after_ms=1:times=14"
    with Emulator("empty", api_key=KEY, faults=faults) as emu:
        w = Watch(emu, "--interval", "0.3", "--max-backoff", "1")
        try:
            w.wait_for(r"cycle 1 \(poll\): .*429")
            w.wait_for(r"next poll in 0\.6 s \(backing off after 1 failed\)")
            w.wait_for(r"next poll in 1 s \(backing off after 2 failed\)")
            w.wait_for(r"cycle 3 \(poll\): 0 jobs")
            w.wait_for(r"cycle 4 \(poll\): 0 jobs", timeout=5)  # back to the interval
            assert w.stop() == EXIT_OK
        finally:
            w.kill()


def test_a_watcher_beside_the_dashboard_records_in_its_ledger_and_home_says_so(sync_env, fresh_caches):
    """Proves item 4's "by what": `ftsync watch --dashboard` writes the dashboard's ledger for the same
    keys, so Jobs shows the jobs synced and Home says the account was last synced by ftsync watch."""
    from .apptest import new_app, texts

    with Emulator("bench", jobs=3, steps=[30], api_key=KEY) as emu:
        w = Watch(emu, "--interval", "60", "--dashboard")
        try:
            w.wait_for(r"cycle 1 \(poll\): 3 jobs · 3 synced")
            assert w.stop() == EXIT_OK
        finally:
            w.kill()
        at = new_app({"openai_api_key": KEY, "openai_base_url": emu.base_url})
        at.run()
        assert not at.exception, at.exception
        assert re.search(r"Last synced \d{4}-\d\d-\d\d \d\d:\d\d UTC by ftsync watch \(ftjob-", texts(at)), texts(at)
        at.switch_page("pages/2_Jobs.py").run()
        assert set(at.dataframe(key="jobs_table").value["Sync state"]) == {"synced"}


def test_a_job_that_keeps_failing_is_retried_after_a_while_not_every_cycle(sync_env):
    """A job whose sync fails (a field of the wrong type) is not fetched and failed again each cycle:
    its history would grow by a row a minute for as long as it stays broken."""
    with Emulator("bench", jobs=2, steps=[30], api_key=KEY) as emu:
        broken = emu.workspace.job_ids()[0]
        emu.workspace.job_overrides[broken] = {"created_at": "2024-01-01"}
        w = Watch(emu, "--interval", "0.5")
        try:
            w.wait_for(r"cycle 1 \(poll\): 2 jobs · 1 synced · 1 failed")
            w.wait_for(r"cycle 2 \(poll\): 2 jobs · 1 unchanged · 1 failed lately, retried later")
            w.wait_for(r"cycle 3 \(poll\): 2 jobs · 1 unchanged · 1 failed lately, retried later")
            assert w.stop() == EXIT_OK
        finally:
            w.kill()
        assert [row[2] for row in history(sync_env["home"], broken)] == ["failed"]
