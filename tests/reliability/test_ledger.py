"""The ledger under contention and on bad ground: racing first runs, a read-only home, a foreign schema."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from ftsync.errors import ConfigError
from ftsync.ledger import Ledger, SyncRecord


def _create_and_write(args: tuple[str, int]) -> str:
    path, i = args
    try:
        ledger = Ledger(path)
        ledger.put(SyncRecord("", "p", f"ftjob-{i}", "synced"), action="cli")
        return "ok"
    except Exception as exc:  # reported to the test, which names it
        return f"{type(exc).__name__}: {exc}"


def test_twenty_processes_creating_one_fresh_ledger_all_succeed(tmp_path):
    """Proves: migrations run once under an exclusive transaction (without it: 'table syncs already
    exists' or 'database is locked' in some of the racers)."""
    path = str(tmp_path / "home" / "ledger.sqlite3")
    ctx = multiprocessing.get_context("fork")
    for round_ in range(3):  # three fresh ledgers, 20 racers each
        target = f"{path}.{round_}"
        with ctx.Pool(20) as pool:
            results = pool.map(_create_and_write, [(target, i) for i in range(20)])
        assert results == ["ok"] * 20
        assert len(Ledger(target).all_records()) == 20


def test_a_home_that_is_a_file_is_one_line(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a folder")
    with pytest.raises(ConfigError, match="set FTSYNC_HOME to a writable folder"):
        Ledger.in_home(home)


def test_a_ledger_of_another_schema_is_refused_up_front(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE syncs (job_id TEXT)")
        db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        db.execute("INSERT INTO _migrations VALUES ('001_syncs', 0), ('002_history', 0)")
    with pytest.raises(ConfigError, match="not an ftsync ledger of a known version") as caught:
        Ledger(path)
    assert "damaged" not in str(caught.value)


def test_a_busy_ledger_is_not_called_damaged(tmp_path):
    from ftsync.ledger import ledger_problem

    for text, wanted in (("database is locked", "busy"), ("attempt to write a readonly database", "cannot be written"),
                         ("database or disk is full", "full"), ("file is not a database", "damaged")):
        line = ledger_problem(tmp_path / "l", sqlite3.OperationalError(text))
        assert wanted in line and ("move it aside" in line) == (wanted == "damaged")
