"""`ftsync sync`: every (or the chosen) fine-tuning job into W&B, with progress and a closing table."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from ..exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .common import (
    add_connection_options,
    job_id,
    non_negative_int,
    openai_settings,
    positive_int,
    positive_number,
    wandb_settings,
)
from .output import ProgressLine, table

if TYPE_CHECKING:
    from ..sync import SyncOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="sync fine-tuning jobs into W&B",
                       description="Sync OpenAI fine-tuning jobs into W&B: metrics, config, datasets, checkpoints, "
                                   "events and the model. Jobs already synced and unchanged are skipped.")
    p.add_argument("-i", "--id", action="append", dest="ids", metavar="JOB", type=job_id, help="a job id (repeatable); default: all jobs")
    p.add_argument("-n", "--n_fine_tunes", "--n-fine-tunes", type=positive_int, dest="limit", metavar="N",
                   help="only the N most recent jobs")
    p.add_argument("--force", action="store_true", help="re-log jobs even if already synced (overwrite their runs)")
    p.add_argument("--wait", action=argparse.BooleanOptionalAction, default=False,
                   help="wait for running jobs to finish before logging them (default: sync them live, as far as they got)")
    p.add_argument("--poll-interval", type=positive_number, default=60.0, help="seconds between status checks with --wait")
    p.add_argument("--wait-timeout", type=positive_number, default=None, help="stop waiting after this many seconds")
    add_sync_options(p)
    p.set_defaults(func=run)


def add_sync_options(p: argparse.ArgumentParser) -> None:
    """How jobs are synced, shared by `sync` and `watch`; then the connection options."""
    p.add_argument("--workers", type=positive_int, default=None, help="jobs synced in parallel (default: 4)")
    p.add_argument("--no-datasets", action="store_true", help="do not log training/validation files")
    p.add_argument("--processes", type=non_negative_int, default=None, metavar="N",
                   help="write W&B runs in N worker processes (default: one per core for 4 jobs or more; 0: none)")
    p.add_argument("--no-events", action="store_true",
                   help="do not log the events and checkpoints tables (saves a request per 100 events)")
    p.add_argument("--dashboard", action="store_true",
                   help="record in the dashboard's ledger for these keys (on the dashboard's host, same FTSYNC_HOME), "
                        "so its Jobs and Home pages show these syncs")
    add_connection_options(p)


def sync_options(args: argparse.Namespace, **fields: Any) -> SyncOptions:
    """The SyncOptions of the shared options, plus `fields` (those of the command)."""
    # wandb suggests Weave whenever openai is imported: noise for a sync tool, whose own API calls
    # are not what a user would trace
    os.environ.setdefault("WANDB_DISABLE_WEAVE", "true")
    from ..sync import DEFAULT_WORKERS, SyncOptions
    from ..writers import AUTO

    openai, wandb, home = openai_settings(args), wandb_settings(args), None
    if args.dashboard:  # the dashboard's folder for this account: its ledger, and its offline runs
        from dataclasses import replace

        from ..connection import account_dirs

        _, home, runs = account_dirs(openai, wandb.api_key, wandb.base_url)
        wandb = replace(wandb, dir=runs) if wandb.offline else wandb
    return SyncOptions(openai=openai, wandb=wandb, home=home,
                       workers=args.workers if args.workers is not None else DEFAULT_WORKERS,
                       log_datasets=not args.no_datasets, log_events=not args.no_events,
                       processes=AUTO if args.processes is None else args.processes, **fields)


def run(args: argparse.Namespace) -> int:
    from ..errors import FtsyncError

    options = sync_options(args, job_ids=args.ids, limit=args.limit, overwrite=args.force, wait=args.wait,
                           poll_interval=args.poll_interval, wait_timeout=args.wait_timeout, action="cli")
    from ..sync import Progress, sync_jobs
    bar = ProgressLine()

    def progress(p: Progress) -> None:
        text = p.job_id + " " + (p.outcome.outcome if p.outcome else p.stage)
        bar.update(p.finished, p.total, text)

    try:
        report = sync_jobs(options, progress=progress)
    except FtsyncError as exc:
        bar.close()
        print(f"ftsync sync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        bar.close()
    rows = [(o.job_id, o.job_status, o.outcome, o.steps, o.message) for o in report.outcomes]
    if rows:
        print(table(["job", "status", "outcome", "steps", "note"], rows, max_width=NOTE_WIDTH))
    cut = [o for o in report.outcomes if len(o.message) > NOTE_WIDTH and o.outcome in ("failed", "partial")]
    if cut:  # the table shortens notes; a problem is worth reading whole
        print("Problems in full:\n" + "\n".join(f"  {o.job_id}: {o.message}" for o in cut))
    counts = ", ".join(f"{report.count(k)} {k}" for k in ("synced", "partial", "skipped", "failed") if report.count(k))
    print(f"{len(report.outcomes)} jobs: {counts or 'nothing to do'} in {report.seconds:.1f}s")
    if report.upload_command:
        print(f"W&B offline: upload these runs later with:\n  {report.upload_command}")
    elif not report.offline:
        print_online_runs(report, options.wandb)
    return EXIT_OK if report.ok else EXIT_FAILED


NOTE_WIDTH = 70


def print_online_runs(report, wandb) -> None:  # noqa: ANN001 - SyncReport, WandbSettings
    """Where the online runs are: each run's page, or the project's when there are many."""
    paths = [o.run_path for o in report.outcomes if o.run_path and o.outcome in ("synced", "partial")]
    if not paths:
        return
    if len(paths) <= 10:
        print("W&B online:\n" + "\n".join(f"  {wandb.run_url(p)}" for p in paths))
    else:
        entity, project, _ = paths[0].split("/")
        print(f"W&B online: {len(paths)} runs in {wandb.app_url}/{entity}/{project}")
