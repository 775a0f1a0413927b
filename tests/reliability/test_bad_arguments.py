"""Bad arguments and settings: one line on stderr, exit 2, no traceback, nothing attempted."""

from __future__ import annotations

import sqlite3

import pytest

from ftsync.cli import main
from ftsync.emulator import Emulator

KEY = "sk-proj-argsTEST-0123456789abcdefXYZ"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, says", [
    (["--id", ""], "not a fine-tuning job id"),
    (["--id", ".."], "not a fine-tuning job id"),
    (["--id", "ftjob-abc/../../x"], "not a fine-tuning job id"),
    (["--workers", "0"], "--workers: must be at least 1, not 0"),
    (["--processes", "-1"], "--processes: must be at least 1, not -1"),
    (["-n", "0"], "must be at least 1, not 0"),
    (["--poll-interval", "-1"], "--poll-interval: must be a number of seconds above 0"),
    (["--poll-interval", "nan"], "--poll-interval: must be a number of seconds above 0"),
    (["--poll-interval", "1e300"], "at most 10 years"),
    (["--wait-timeout", "nan"], "--wait-timeout: must be a number of seconds above 0"),
    (["--wait-timeout", "inf"], "--wait-timeout: must be a number of seconds above 0"),
])
def test_a_bad_sync_argument_is_one_line_and_exit_2(sync_env, capsys, argv, says):
    """Proves: the CLI's argparse types (commands.common) refuse each before anything runs
    (without them: `--workers 0` silently became 4, `nan` never timed out, ids reached paths)."""
    code, out, err = run_cli(capsys, "sync", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("ftsync sync: ") and says in err, err


@pytest.mark.parametrize("key, says", [
    ("sk-proj-é-0123456789abcdef", "the OpenAI API key contains characters no key has"),
    ("", "no OpenAI API key"),
])
def test_a_bad_key_in_the_environment_is_one_line(sync_env, monkeypatch, capsys, key, says):
    monkeypatch.setenv("OPENAI_API_KEY", key)
    code, _, err = run_cli(capsys, "sync")
    assert code == 2 and len(err.strip().splitlines()) == 1 and says in err, err
    assert "é" not in err  # not even a piece of the key is echoed


def test_a_key_with_a_trailing_carriage_return_still_works(sync_env, monkeypatch, capsys):
    """Proves: keys are stripped (settings.checked_key; without it: "cannot reach OpenAI", as
    the HTTP library refuses a header with \\r)."""
    with Emulator("demo", api_key=KEY) as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY + "\r\n")
        code, out, err = run_cli(capsys, "jobs")
    assert code == 0, err
    assert "ftjob-" in out


def test_an_ftsync_home_that_is_a_file_is_one_line(sync_env, monkeypatch, capsys, tmp_path):
    home = tmp_path / "a-file"
    home.write_text("not a folder")
    monkeypatch.setenv("FTSYNC_HOME", str(home))
    with Emulator("demo", api_key=KEY) as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        code, _, err = run_cli(capsys, "sync", "-n", "1")
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith("ftsync sync: cannot create") and "set FTSYNC_HOME to a writable folder" in err
        # the watcher meets it at its lock, before any cycle (without the catch: a traceback)
        code, out, err = run_cli(capsys, "watch", "--interval", "1")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("ftsync watch: cannot create a lock in ") and "set FTSYNC_HOME" in err


def test_a_ledger_of_another_schema_is_one_line_that_keeps_it(sync_env, monkeypatch, capsys):
    """Proves: the schema is checked up front (ledger.check_schema), with advice that does not
    discard a file ftsync did not write blindly."""
    home = sync_env["home"]
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        db.execute("CREATE TABLE syncs (job_id TEXT)")
    with Emulator("demo", api_key=KEY) as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        code, _, err = run_cli(capsys, "sync", "-n", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "is not an ftsync ledger of a known version" in err and "point FTSYNC_HOME at another folder" in err


@pytest.mark.parametrize("argv, env, says", [
    (["--interval", "0"], {}, "--interval: must be a number of seconds above 0"),
    (["--interval", "nan"], {}, "--interval: must be a number of seconds above 0"),
    (["--max-backoff", "-5"], {}, "--max-backoff: must be a number of seconds above 0"),
    (["--webhook-port", "70000"], {}, "--webhook-port: a port is 0 to 65535, not 70000"),
    (["--webhook-port", "x"], {}, "--webhook-port: not a port number"),
    (["--webhook-port", "0"], {}, "webhooks need the endpoint's signing secret in OPENAI_WEBHOOK_SECRET"),
    (["--webhook-port", "0"], {"OPENAI_WEBHOOK_SECRET": "whsec_%%%"}, "the rest is not base64"),
])
def test_a_bad_watch_argument_is_one_line_and_exit_2(sync_env, monkeypatch, capsys, argv, env, says):
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli(capsys, "watch", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("ftsync watch: ") and says in err, err
    assert "%%%" not in err  # a secret, even a broken one, is never said
