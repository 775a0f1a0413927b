"""The ledger (SQLite, migrations, reconciliation) and the result-file parser, on their own."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from ftsync.errors import ConfigError, SourceError
from ftsync.ledger import MIGRATIONS, Ledger, SyncRecord, migrate
from ftsync.results import flatten, metrics_from_events, parse_result_file
from ftsync.wandb_remote import RemoteRun


def test_migrations_apply_once_in_order(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    Ledger(path)
    db = sqlite3.connect(path)
    assert [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")] == [m[0] for m in MIGRATIONS]
    assert migrate(db) == []  # nothing left to apply
    Ledger(path)  # reopening is harmless


def test_an_old_ledger_is_upgraded_in_place(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    db.execute(MIGRATIONS[0][1])
    db.execute("INSERT INTO _migrations VALUES (?, 0)", (MIGRATIONS[0][0],))
    db.execute("INSERT INTO syncs (entity, project, job_id, state, updated_at) VALUES ('', 'p', 'ftjob-1', 'synced', 1)")
    db.commit()
    db.close()
    ledger = Ledger(path)
    assert ledger.get("", "p", "ftjob-1").state == "synced"
    ledger.put(SyncRecord("", "p", "ftjob-2", "partial"), action="cli")
    assert ledger.history()[0]["job_id"] == "ftjob-2"


def test_a_corrupt_ledger_is_one_clear_error(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="is damaged"):
        Ledger(path)


def test_reconcile_learns_runs_already_on_wandb(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.put(SyncRecord("team", "p", "ftjob-known", "partial"), action="cli")
    added = ledger.reconcile("team", "p", [
        RemoteRun("ftjob-known", "team/p/ftjob-known", {"status": "succeeded"}),
        RemoteRun("ftjob-done", "team/p/ftjob-done", {"status": "succeeded", "_step": 120}),
        RemoteRun("ftjob-half", "team/p/ftjob-half", {"status": "running"}),
    ])
    assert added == 1
    assert ledger.get("team", "p", "ftjob-done").steps_synced == 120
    assert ledger.get("team", "p", "ftjob-known").state == "partial"
    assert ledger.get("team", "p", "ftjob-half") is None


CSV = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,3.6,0.5,,\n2,2.4,0.8,1.9,0.7\n"


def test_result_files_base64_and_plain_give_the_same_frame():
    a = parse_result_file(base64.b64encode(CSV.encode()))
    b = parse_result_file(CSV.encode())
    assert a.equals(b)
    assert list(a["step"]) == [1, 2] and a["valid_loss"].isna().tolist() == [True, False]


def test_non_numeric_cells_and_stepless_rows_never_crash():
    frame = parse_result_file(b"step,train_loss,note\n1,0.5,hello\n,0.4,x\n3,oops,\n2,0.3,\n")
    assert list(frame["step"]) == [1, 2, 3]
    assert frame.loc[frame.step == 3, "train_loss"].isna().all() and frame["note"].isna().all()


@pytest.mark.parametrize("raw,words", [
    (b"", "is empty"),
    (b"\xff\xfe\x00garbage", "neither base64 nor UTF-8"),
    (b"loss,acc\n1,2\n", "no 'step' column"),
    (base64.b64encode(b"loss,acc\n1,2\n"), "no 'step' column"),
])
def test_corrupt_result_files_are_one_line_errors(raw, words):
    with pytest.raises(SourceError, match=words):
        parse_result_file(raw, "result file file-x")


def test_nested_rft_metrics_flatten_to_stable_keys():
    data = {"step": 3, "scores": {"graders": [{"name": "g1", "type": "x", "train_reward_mean": 0.4}],
                                  "train_reward_mean": 0.4}, "usage": {"samples": {"n": 2}}, "ok": True, "txt": "a"}
    assert flatten(data) == {"step": 3.0, "scores/graders/g1/train_reward_mean": 0.4, "scores/train_reward_mean": 0.4,
                             "usage/samples/n": 2.0}
    frame = metrics_from_events([{"type": "metrics", "data": data}, {"type": "message", "data": None},
                                 {"type": "metrics", "data": {"step": 1, "train_loss": 2.0}}])
    assert list(frame["step"]) == [1, 3]


def test_a_job_learnt_from_wandb_is_not_relogged():
    from ftsync.catalog import sync_state
    from ftsync.sync import needs_sync

    job = {"id": "ftjob-done", "status": "succeeded", "finished_at": 5}
    learnt = SyncRecord("team", "p", "ftjob-done", "synced", job_status="succeeded")  # as reconcile writes it
    assert not needs_sync(job, learnt, overwrite=False) and needs_sync(job, learnt, overwrite=True)
    assert sync_state(job, learnt, syncing=False) == "synced"
