"""`ftsync jobs`: every fine-tuning job with its status and sync state."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import add_connection_options, openai_settings, wandb_settings
from .output import table

if TYPE_CHECKING:
    from ..catalog import JobRow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list fine-tuning jobs with their sync state")
    p.add_argument("--json", action="store_true", help="one JSON object per job")
    add_connection_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..catalog import job_rows
    from ..errors import FtsyncError
    from ..ledger import Ledger
    from ..record.deadlines import listed_shutdowns
    from ..settings import ftsync_home
    from ..source import list_jobs

    try:
        settings = openai_settings(args)
        client = settings.client()
        jobs = list_jobs(client)
        wb = wandb_settings(args)
        home = ftsync_home()
        rows = job_rows(jobs, Ledger.in_home(home), *wb.scope, home=home, app_url=None if wb.offline else wb.app_url,
                        shutdowns=listed_shutdowns(client), account=settings.fingerprint)
    except FtsyncError as exc:
        print(f"ftsync jobs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    bad = sum(1 for r in rows if r.problem)
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict()))
    else:
        print_table(rows)
        print(f"{len(rows)} jobs" + (f", {bad} with a field of the wrong type" if bad else ""))
    # like `sync` and `validate`: every job is listed, and a job ftsync cannot read is a failed item
    return EXIT_FAILED if bad else EXIT_OK


def print_table(rows: list[JobRow]) -> None:
    headers = ["job", "status", "method", "model", "created", "sync", "serves until", "recorded"]
    cells = [[r.id, r.status, r.method, r.model, _date(r.created_at), r.sync_state, _until(r),
              r.recorded or ("no" if r.fine_tuned_model else "")] for r in rows]
    if any(r.openai_run for r in rows):  # jobs created with OpenAI's own W&B integration
        headers.append("OpenAI's W&B run")
        for row, r in zip(cells, rows):
            row.append(f"{r.openai_run} ({'enriched' if r.logged_by == 'OpenAI + ftsync' else 'by OpenAI'})"
                       if r.openai_run else "")
    if any(r.problem for r in rows):  # the column only when there is something to say
        headers.append("problem")
        for row, r in zip(cells, rows):
            row.append(r.problem or "")
    print(table(headers, cells))


def _until(row: JobRow) -> str:
    """`2027-01-14 (42 days)`, `2026-10-23 (gone)`, or "" with no model or no date."""
    if row.serves_until is None:
        return ""
    left = row.days_left
    return f"{row.serves_until} ({'gone' if left is not None and left <= 0 else f'{left} days'})"


def _date(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M") if ts else ""
