"""Ids are checked before they are used: a hostile id from a server (or typed by a user) never
becomes a ledger key, a path, a request, a W&B run or artifact name, or a word in a command."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from ftsync.cli import main
from ftsync.errors import SourceError
from ftsync.filecache import FileCache
from ftsync.ids import (check_file_id, check_job_id, shown, valid_checkpoint_id, valid_event_id, valid_file_id,
                        valid_job_id)
from ftsync.settings import OpenAISettings, WandbSettings
from ftsync.sync import SyncOptions, sync_jobs
from ftsync.wandb_offline import offline_runs

from .hostile_server import (BAD_RESULT_JOB, BAD_TRAINING_JOB, HOSTILE_JOB, HOSTILE_RESULT_FILE,
                             HOSTILE_TRAINING_FILE, SWAPPED_JOB, HostileServer)

HOSTILE = [HOSTILE_JOB, "ftjob-../../etc/passwd", "ftjob-a b", "ftjob-abc\n", "ftjob-abc;rm", "ftjob-`id`",
           "ftjob-", "ftjob-" + "a" * 65, "ftjob-ａｂｃ", "FTJOB-abc", "file-abc", " ftjob-abc", "ftjob-abc/", "",
           None, 42, ["ftjob-abc"]]


# ---- the validators ---------------------------------------------------------------------------------

@pytest.mark.parametrize("job_id", ["ftjob-mJP5PgIEaFxN4jpMHIcCKMmQ",  # OpenAI: 24 letters and digits
                                    "ftjob-0f5e9e8d2b2f4c26a5c3f3e1b9b7a9d1",  # Azure: 32 hex
                                    "ftjob-abc"])  # a length we have not seen is not refused
def test_job_ids_of_openai_and_azure_are_valid(job_id):
    assert valid_job_id(job_id) and check_job_id(job_id) == job_id


@pytest.mark.parametrize("job_id", HOSTILE)
def test_anything_else_is_not_a_job_id(job_id):
    assert not valid_job_id(job_id)
    with pytest.raises(SourceError) as caught:
        check_job_id(job_id)
    message = str(caught.value)
    assert message.startswith("not a fine-tuning job id: ") and "\n" not in message and len(message) < 80


def test_file_checkpoint_and_event_ids():
    for good in ("file-RCnFCYRhFDcq1aHxiYkBHw", "file-Cbl1lel9YuFDEEYeJu0Kxyvq", "file-0a3bd6f1c2e44b1d9d8f2b8e0c6a7f55"):
        assert valid_file_id(good) and check_file_id(good) == good
    for bad in (HOSTILE_TRAINING_FILE, HOSTILE_RESULT_FILE, "file-", "file-a.jsonl", "ftjob-abc", None):
        assert not valid_file_id(bad)
    with pytest.raises(SourceError, match=r"^result file of ftjob-x: not a file id: 'file-\.\./\.\./\.\./PWNED'$"):
        check_file_id(HOSTILE_RESULT_FILE, "result file of ftjob-x")
    assert valid_checkpoint_id("ftckpt_zc4Q7MP6XxulcVzj4MZdwsAB") and not valid_checkpoint_id("ftckpt-zc4Q7MP6")
    assert valid_event_id("ftevent-Xh1kdUmGWsDAvNXwXrb9R2yv") and not valid_event_id("ftevent-$(x)")


def test_a_refused_id_is_shown_quoted_escaped_and_short():
    assert shown("ftjob-\x1b[31mred\nline") == repr("ftjob-\x1b[31mred\nline")
    assert shown("ftjob-" + "x" * 500).endswith("…") and len(shown("ftjob-" + "x" * 500)) == 40
    assert shown(None) == "<NoneType>" and shown(["a"]) == "<list>"


@pytest.mark.parametrize("file_id", [HOSTILE_TRAINING_FILE, HOSTILE_RESULT_FILE, "../x", ".hidden", "file-a/b"])
def test_the_file_cache_makes_no_path_of_a_hostile_id(tmp_path, file_id):
    with pytest.raises(SourceError, match="not a file id"):
        FileCache(tmp_path, "fp").path(file_id)


# ---- a hostile server's ids ---------------------------------------------------------------------

def _options(srv: HostileServer, env: dict[str, Path], **kw) -> SyncOptions:
    return SyncOptions(openai=OpenAISettings(api_key=srv.api_key, base_url=srv.base_url), home=env["home"],
                       wandb=WandbSettings(mode="offline", dir=env["wandb"]), **kw)


def _ledger_text(env: dict[str, Path]) -> str:
    db = sqlite3.connect(env["home"] / "ledger.sqlite3")
    try:
        return "\n".join(db.iterdump())  # every row of every table, as SQL text
    finally:
        db.close()


def _names_under(*roots: Path) -> list[str]:
    return [str(p) for root in roots for p in root.rglob("*")]


def test_hostile_ids_in_a_listing_never_reach_the_ledger_a_path_a_request_or_wandb(sync_env, caplog, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a `touch PWNED` that ran would leave its file
    with HostileServer({"hostile-ids"}) as srv, caplog.at_level(logging.WARNING, logger="ftsync.source"):
        report = sync_jobs(_options(srv, sync_env))
    got = {o.job_id: o for o in report.outcomes}
    good = srv.account.jobs[-1]["id"]
    # the job with a hostile id is left out, with one line saying so
    assert set(got) == {BAD_TRAINING_JOB, BAD_RESULT_JOB, SWAPPED_JOB, good}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["listing jobs: left out 1 job(s) whose id is not a fine-tuning job id, "
                        "e.g. 'ftjob-$(touch${IFS}PWNED)'"]
    # hostile file ids: that dataset (or that job's metrics) is refused, with one line
    assert got[BAD_TRAINING_JOB].outcome == "partial"
    assert got[BAD_TRAINING_JOB].message == "training file: not a file id: 'file-$(touch${IFS}PWNED)'"
    assert got[BAD_RESULT_JOB].outcome == "failed"
    assert got[BAD_RESULT_JOB].message == f"result file of {BAD_RESULT_JOB}: not a file id: 'file-../../../PWNED'"
    assert got[SWAPPED_JOB].outcome == "synced" and got[good].outcome == "synced"
    # no request carried a hostile id
    assert not [p for p in srv.paths if "PWNED" in p or "$" in p or ".." in p]
    assert srv.hits[("jobs.events", HOSTILE_JOB)] == 0
    # the ledger: no row for it, not a word of it
    assert HOSTILE_JOB not in _ledger_text(sync_env)
    # paths: no file or folder named after any hostile id, and nothing was run
    assert not [n for n in _names_under(*sync_env.values()) if "PWNED" in n or "$(" in n]
    assert not (tmp_path / "PWNED").exists() and not (sync_env["home"].parent / "PWNED").exists()
    # W&B: runs and artifacts only under valid ids
    runs = offline_runs(sync_env["wandb"])
    assert {r.run_id for r in runs} == {BAD_TRAINING_JOB, SWAPPED_JOB, good}
    for run in runs:
        assert all("PWNED" not in a.name and "$" not in a.name for a in run.artifacts), run.run_id
    assert HOSTILE_JOB not in (report.upload_command or "")


def test_a_retrieve_answering_another_id_fails_that_job(sync_env):
    with HostileServer({"hostile-ids"}) as srv:
        good = srv.account.jobs[-1]["id"]
        report = sync_jobs(_options(srv, sync_env, job_ids=[SWAPPED_JOB, good]))
    got = {o.job_id: o for o in report.outcomes}
    assert got[good].outcome == "synced"
    assert got[SWAPPED_JOB].outcome == "failed"
    assert got[SWAPPED_JOB].message == (f"job {SWAPPED_JOB}: the server answered with another id "
                                        "('ftjob-$(touch${IFS}PWNED)')")
    assert HOSTILE_JOB not in _ledger_text(sync_env)
    assert {r.run_id for r in offline_runs(sync_env["wandb"])} == {good}


def test_a_hostile_id_given_by_a_user_fails_with_one_line_and_no_request(sync_env):
    with HostileServer() as srv:
        good = srv.account.jobs[-1]["id"]
        report = sync_jobs(_options(srv, sync_env, job_ids=[HOSTILE_JOB, "ftjob-../../files", good]))
    assert [(o.job_id, o.outcome, o.message) for o in report.outcomes if o.outcome == "failed"] == [
        ("'ftjob-$(touch${IFS}PWNED)'", "failed", "not a fine-tuning job id: 'ftjob-$(touch${IFS}PWNED)'"),
        ("'ftjob-../../files'", "failed", "not a fine-tuning job id: 'ftjob-../../files'")]
    assert srv.requests["jobs.retrieve"] == 1  # the good one only
    assert HOSTILE_JOB not in _ledger_text(sync_env)


def test_the_cli_refuses_a_hostile_id_in_one_line(sync_env, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    with HostileServer() as srv:
        monkeypatch.setenv("OPENAI_API_KEY", srv.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        code = main(["sync", "--id", HOSTILE_JOB])
    out, err = capsys.readouterr()
    # refused by the command line (a usage error) or by the sync (a failed job): either way one line
    assert code in (1, 2) and "Traceback" not in out + err
    assert "not a fine-tuning job id" in out + err and "'ftjob-$(touch${IFS}PWNED)'" in out + err
    assert srv.total_requests == 0 and not (tmp_path / "PWNED").exists()
