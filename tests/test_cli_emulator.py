"""`ftsync emulator` as a user runs it: a real process, its first line the base URL."""

from __future__ import annotations

import subprocess
import sys

import openai
import pytest

from ftsync.cli import main


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "ftsync.cli", "emulator", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline().strip()
    return proc, first


@pytest.mark.slow
def test_bench_1000_jobs_2000_steps_serves():
    proc, base_url = _start("--workspace", "bench", "--jobs", "1000", "--steps", "2000")
    try:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="sk-emulator")
        jobs = list(client.fine_tuning.jobs.list(limit=100))
        assert len(jobs) == 1000
        events = client.fine_tuning.jobs.list_events(jobs[500].id, limit=5).data
        assert events[0].message == "The job has successfully completed"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_only_the_given_key_is_accepted():
    proc, base_url = _start("--api-key", "sk-team-secret", "--port", "0")
    try:
        assert openai.OpenAI(base_url=base_url, api_key="sk-team-secret").models.list().data
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base_url, api_key="sk-emulator", max_retries=0).models.list()
        second = proc.stdout.readline()
        assert "sk-team-secret" not in second  # the CLI never echoes a given key
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("args,words", [
    (["--faults", "jobs.nope:429"], "unknown route 'jobs.nope'"),
    (["--workspace", "bench", "--steps", "0"], "bench needs"),
])
def test_bad_options_exit_2_with_one_line(args, words, capsys):
    assert main(["emulator", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err
