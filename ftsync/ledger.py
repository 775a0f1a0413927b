"""The sync ledger: what was synced where, when and how far (SQLite in $FTSYNC_HOME).

One row per (entity, project, job id) in `syncs`, and an append-only `history` of every sync
action for the dashboard. Schema changes go through the numbered MIGRATIONS below, applied in
order and recorded in `_migrations`, so an old ledger upgrades in place.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, LedgerError

if TYPE_CHECKING:
    from .wandb_remote import RemoteRun

STATES = ("synced", "partial", "failed")

MIGRATIONS: list[tuple[str, str]] = [
    ("001_syncs", """
        CREATE TABLE syncs (
            entity TEXT NOT NULL,
            project TEXT NOT NULL,
            job_id TEXT NOT NULL,
            state TEXT NOT NULL,              -- synced | partial | failed
            job_status TEXT,                  -- the job's status when last seen
            fingerprint TEXT,                 -- of the job as last synced
            run_path TEXT,                    -- entity/project/run_id online; the run folder offline
            offline INTEGER NOT NULL DEFAULT 0,
            steps_synced INTEGER NOT NULL DEFAULT 0,
            artifacts TEXT NOT NULL DEFAULT '[]',  -- JSON list of what was logged: train-..., job_details, ...
            error TEXT,
            first_synced_at REAL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (entity, project, job_id)
        )"""),
    ("002_history", """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            entity TEXT NOT NULL,
            project TEXT NOT NULL,
            job_id TEXT NOT NULL,
            action TEXT NOT NULL,             -- cli | dashboard | python | reconcile
            outcome TEXT NOT NULL,            -- synced | partial | failed | skipped
            message TEXT,
            run_path TEXT,
            offline INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX history_at ON history (at)"""),
    ("003_attempts", """
        CREATE TABLE attempts (             -- a run being written: removed once the ledger records it
            entity TEXT NOT NULL,
            project TEXT NOT NULL,
            job_id TEXT NOT NULL,
            started_at REAL NOT NULL,
            runs_dir TEXT,                    -- offline: the folder holding the run folders
            known TEXT NOT NULL DEFAULT '[]', -- offline: the job's run folders there before this attempt
            PRIMARY KEY (entity, project, job_id)
        )"""),
    ("004_openai_run", """
        -- OpenAI's own W&B run of the job (its integration), when ftsync added to it: entity/project/id
        ALTER TABLE syncs ADD COLUMN openai_run TEXT"""),
    ("005_answers", """
        CREATE TABLE answers (              -- what a model answered, recorded as each answer arrives
            account TEXT NOT NULL,            -- fingerprint of the OpenAI key and endpoint
            job_id TEXT NOT NULL,
            model TEXT NOT NULL,
            line INTEGER NOT NULL,            -- the example's line in its file
            answer TEXT,                      -- JSON: the response's message, usage, finish reason, latency
            error TEXT,                       -- why there is no answer (the model no longer serves, ...)
            at REAL NOT NULL,
            PRIMARY KEY (account, job_id, model, line)
        )"""),
]


@dataclass
class SyncRecord:
    entity: str
    project: str
    job_id: str
    state: str
    job_status: str | None = None
    fingerprint: str | None = None
    run_path: str | None = None
    offline: bool = False
    steps_synced: int = 0
    artifacts: list[str] = field(default_factory=list)
    error: str | None = None
    first_synced_at: float | None = None
    updated_at: float = 0.0
    openai_run: str | None = None  # the run is OpenAI's own (its W&B integration): ftsync added to it


@dataclass
class Attempt:
    """A run being written for a job; a row left behind means that sync was killed midway."""

    entity: str
    project: str
    job_id: str
    started_at: float
    runs_dir: str | None = None
    known: list[str] = field(default_factory=list)


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {self.path.parent} for the sync ledger ({exc.strerror}); "
                              "set FTSYNC_HOME to a writable folder") from None
        try:
            with closing(self._open()) as db:
                use_wal(db)
                migrate(db)
                check_schema(db)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(ledger_problem(self.path, exc)) from None

    @classmethod
    def in_home(cls, home: Path) -> "Ledger":
        return cls(Path(home) / "ledger.sqlite3")

    def _open(self) -> sqlite3.Connection:
        # autocommit; writes take an explicit BEGIN IMMEDIATE (see _connect), so concurrent
        # processes queue on SQLite's busy timeout instead of failing halfway
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short connection per operation, in one transaction: safe from any thread and process."""
        try:
            db = self._open()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(ledger_problem(self.path, exc)) from None
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:  # full disk, read-only, busy past the timeout, damaged
            raise LedgerError(ledger_problem(self.path, exc)) from None
        finally:
            db.close()

    def transaction(self) -> Any:
        """One short transaction (a context manager giving the connection), for the tables other
        modules keep here (ftsync.record.store)."""
        return self._connect()

    def get(self, entity: str, project: str, job_id: str) -> SyncRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM syncs WHERE entity=? AND project=? AND job_id=?",
                             (entity, project, job_id)).fetchone()
        return _record(row) if row else None

    def records(self, entity: str, project: str) -> dict[str, SyncRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM syncs WHERE entity=? AND project=?", (entity, project)).fetchall()
        return {row["job_id"]: _record(row) for row in rows}

    def all_records(self) -> list[SyncRecord]:
        with self._connect() as db:
            return [_record(r) for r in db.execute("SELECT * FROM syncs ORDER BY updated_at DESC").fetchall()]

    def begin_attempt(self, attempt: Attempt) -> None:
        """Say, before a run is opened, that it is being written (see ftsync.attempts)."""
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO attempts (entity, project, job_id, started_at, runs_dir, known)"
                       " VALUES (?,?,?,?,?,?)", (attempt.entity, attempt.project, attempt.job_id, attempt.started_at,
                                                 attempt.runs_dir, json.dumps(sorted(attempt.known))))

    def attempt(self, entity: str, project: str, job_id: str) -> Attempt | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM attempts WHERE entity=? AND project=? AND job_id=?",
                             (entity, project, job_id)).fetchone()
        if row is None:
            return None
        data = dict(row)
        data["known"] = json.loads(data["known"] or "[]")
        return Attempt(**data)

    def end_attempt(self, entity: str, project: str, job_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM attempts WHERE entity=? AND project=? AND job_id=?", (entity, project, job_id))

    def put(self, record: SyncRecord, *, action: str, message: str | None = None) -> None:
        """Record a job's state (ending its attempt, if any, in the same transaction)."""
        if record.state not in STATES:
            raise ValueError(f"unknown state {record.state!r}")
        now = time.time()
        record.updated_at = now
        if record.state in ("synced", "partial") and record.first_synced_at is None:
            record.first_synced_at = now
        with self._connect() as db:
            db.execute(
                """INSERT INTO syncs (entity, project, job_id, state, job_status, fingerprint, run_path, offline,
                                      steps_synced, artifacts, error, first_synced_at, updated_at, openai_run)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (entity, project, job_id) DO UPDATE SET
                     state=excluded.state, job_status=excluded.job_status, fingerprint=excluded.fingerprint,
                     run_path=excluded.run_path, offline=excluded.offline, steps_synced=excluded.steps_synced,
                     artifacts=excluded.artifacts, error=excluded.error,
                     first_synced_at=excluded.first_synced_at, updated_at=excluded.updated_at,
                     openai_run=excluded.openai_run""",
                (record.entity, record.project, record.job_id, record.state, record.job_status, record.fingerprint,
                 record.run_path, int(record.offline), record.steps_synced, json.dumps(sorted(set(record.artifacts))),
                 record.error, record.first_synced_at, now, record.openai_run))
            db.execute(
                "INSERT INTO history (at, entity, project, job_id, action, outcome, message, run_path, offline)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (now, record.entity, record.project, record.job_id, action, record.state,
                 message if message is not None else record.error, record.run_path, int(record.offline)))
            db.execute("DELETE FROM attempts WHERE entity=? AND project=? AND job_id=?",
                       (record.entity, record.project, record.job_id))

    def note(self, entity: str, project: str, job_id: str, *, action: str, outcome: str, message: str) -> None:
        """A history line that changes no state (e.g. a skipped job)."""
        with self._connect() as db:
            db.execute("INSERT INTO history (at, entity, project, job_id, action, outcome, message)"
                       " VALUES (?,?,?,?,?,?,?)", (time.time(), entity, project, job_id, action, outcome, message))

    def history(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM history ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def last_synced(self) -> dict[str, Any] | None:
        """The newest history row in which a job was synced (wholly or so far), by ftsync itself."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM history WHERE outcome IN ('synced', 'partial') AND action != 'reconcile'"
                             " ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None

    def reconcile(self, entity: str, project: str, runs: Iterable[RemoteRun]) -> int:
        """Learn from W&B what is already there (the project's runs, as `wandb_remote` lists them).

        A run whose summary says `succeeded` (W&B's own logger's marker, and ours) counts as synced
        when the ledger has no record of it. Returns how many records were added. (What the ledger
        holds and W&B no longer has is the sync's to find: it syncs such a job again.)
        """
        known = self.records(entity, project)
        added = 0
        for run in runs:
            if run.id in known or run.summary.get("status") != "succeeded":
                continue
            self.put(SyncRecord(entity, project, run.id, "synced", job_status="succeeded", run_path=run.path,
                                steps_synced=run.last_step or 0),
                     action="reconcile", message="found on W&B")
            added += 1
        return added


def use_wal(db: sqlite3.Connection, tries: int = 200) -> None:
    """WAL journal (once per file: readers then run beside a writer). Switching needs the file to
    itself and SQLite does not wait for that, so racing first runs retry for a while."""
    for attempt in range(tries):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05)


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations this ledger has not seen, in one exclusive transaction (two processes
    creating the same fresh ledger: the second waits, then finds them applied); returns their names."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            for statement in _statements(sql):
                db.execute(statement)
            db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            applied.append(name)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied


def _statements(sql: str) -> Iterator[str]:
    """The statements of a script (SQLite's own parser decides where each ends: comments may hold ';')."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer


SCHEMA = {"syncs": {"entity", "project", "job_id", "state", "job_status", "fingerprint", "run_path", "offline",
                    "steps_synced", "artifacts", "error", "first_synced_at", "updated_at", "openai_run"},
          "history": {"id", "at", "entity", "project", "job_id", "action", "outcome", "message", "run_path", "offline"},
          "attempts": {"entity", "project", "job_id", "started_at", "runs_dir", "known"},
          "answers": {"account", "job_id", "model", "line", "answer", "error", "at"}}


def check_schema(db: sqlite3.Connection) -> None:
    """A ledger whose tables lack columns (written by something else) is refused up front, not midway."""
    for table, columns in SCHEMA.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        missing = sorted(columns - have)
        if missing:
            raise sqlite3.DatabaseError(f"table {table} lacks {', '.join(missing)}")


def ledger_problem(path: Path, exc: sqlite3.DatabaseError) -> str:
    """One line saying what is wrong with the ledger file and what to do, never advising to discard
    a ledger that is only busy or read-only."""
    text = str(exc)
    lower = text.lower()
    if "readonly" in lower or "read-only" in lower or "unable to open" in lower or "access permission" in lower:
        return f"the sync ledger {path} cannot be written ({text}); make its folder writable or set FTSYNC_HOME"
    if "locked" in lower or "busy" in lower:
        return f"the sync ledger {path} is busy: another ftsync holds it ({text}); try again when it is done"
    if ("disk" in lower and "full" in lower) or _disk_full(path):
        return f"the disk holding the sync ledger {path} is full; free space and sync again (nothing was lost)"
    if "i/o" in lower:
        return (f"the disk holding the sync ledger {path} failed to read or write it ({text}); check the disk "
                "and sync again (the ledger itself may well be intact)")
    if "lacks" in lower or "already exists" in lower:  # tables of another program, or another version
        return (f"{path} is not an ftsync ledger of a known version ({text}); point FTSYNC_HOME at another "
                "folder, or move this file aside if you know it is not needed")
    return (f"the sync ledger {path} is damaged ({text}); restore it from a backup, or move it aside to start "
            "afresh (W&B itself still knows what was synced online)")


def _disk_full(path: Path) -> bool:
    """SQLite often says "disk I/O error" when it cannot grow its journal on a full disk."""
    try:
        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


def _record(row: sqlite3.Row) -> SyncRecord:
    data = dict(row)
    data["artifacts"] = json.loads(data["artifacts"] or "[]")
    data["offline"] = bool(data["offline"])
    return SyncRecord(**data)
