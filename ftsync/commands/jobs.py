"""`ftsync jobs`: every fine-tuning job with its status and sync state."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from ..exits import EXIT_OK, EXIT_USAGE
from .common import add_connection_options, openai_settings, wandb_settings
from .output import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list fine-tuning jobs with their sync state")
    p.add_argument("--json", action="store_true", help="one JSON object per job")
    add_connection_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..catalog import job_rows
    from ..errors import FtsyncError
    from ..ledger import Ledger
    from ..settings import ftsync_home
    from ..source import list_jobs

    try:
        client = openai_settings(args).client()
        jobs = list_jobs(client)
        wb = wandb_settings(args)
        home = ftsync_home()
        rows = job_rows(jobs, Ledger.in_home(home), *wb.scope, home=home, app_url=None if wb.offline else wb.app_url)
    except FtsyncError as exc:
        print(f"ftsync jobs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict()))
        return EXIT_OK
    print(table(["job", "status", "method", "model", "created", "sync"],
                [(r.id, r.status, r.method, r.model, _date(r.created_at), r.sync_state) for r in rows]))
    print(f"{len(rows)} jobs")
    return EXIT_OK


def _date(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M") if ts else ""
