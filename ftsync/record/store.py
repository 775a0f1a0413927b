"""Recorded answers in the ledger (table `answers`), one row per (account, job, model, example line),
written as each answer arrives: a killed record resumes without asking (or paying for) it again."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ..ledger import Ledger


@dataclass
class Answer:
    job_id: str
    model: str
    line: int
    answer: dict[str, Any] | None  # message, usage, finish_reason, latency_s, request (as sent)
    error: str | None = None


def put(ledger: Ledger, account: str, answer: Answer) -> None:
    with ledger.transaction() as db:
        db.execute("INSERT OR REPLACE INTO answers (account, job_id, model, line, answer, error, at)"
                   " VALUES (?,?,?,?,?,?,?)",
                   (account, answer.job_id, answer.model, answer.line,
                    json.dumps(answer.answer) if answer.answer is not None else None, answer.error, time.time()))


def answers(ledger: Ledger, account: str, job_id: str) -> list[Answer]:
    with ledger.transaction() as db:
        rows = db.execute("SELECT * FROM answers WHERE account=? AND job_id=? ORDER BY model, line",
                          (account, job_id)).fetchall()
    return [Answer(r["job_id"], r["model"], r["line"], json.loads(r["answer"]) if r["answer"] else None, r["error"])
            for r in rows]


def recorded(ledger: Ledger, account: str) -> dict[str, int]:
    """Per job, how many examples have an answer (any model)."""
    with ledger.transaction() as db:
        rows = db.execute("SELECT job_id, COUNT(DISTINCT line) AS n FROM answers WHERE account=? AND answer IS NOT NULL"
                          " GROUP BY job_id", (account,)).fetchall()
    return {r["job_id"]: r["n"] for r in rows}
