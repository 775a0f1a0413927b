"""`ftsync record`: what each fine-tuned model answers to its job's prompts, into the ledger and W&B,
before OpenAI turns the models off. The cost comes first: nothing is sent over budget or unconfirmed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ..record import DEFAULT_CONCURRENCY, DEFAULT_EXAMPLES, DEFAULT_MAX_COST
from .common import add_connection_options, job_id, non_negative_number, openai_settings, positive_int, wandb_settings
from .output import ProgressLine, table

if TYPE_CHECKING:
    from ..record.runner import Estimate, RecordReport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record what each fine-tuned model answers, into W&B",
                       description="Each chosen model answers the prompts of its job's validation file (else a "
                                   "seeded sample of its training file); the answers, scored against the file's "
                                   "references, go into the job's W&B run. Shows the cost first.")
    p.add_argument("-i", "--id", action="append", dest="ids", metavar="JOB", type=job_id,
                   help="a job id (repeatable); default: every succeeded job")
    p.add_argument("-n", type=positive_int, dest="limit", metavar="N", help="only the N most recent succeeded jobs")
    p.add_argument("--checkpoints", action="store_true", help="each checkpoint's model answers too")
    p.add_argument("--base", action="store_true", help="and the base model, as a comparison")
    p.add_argument("--file", type=Path, help="prompts of your own (JSONL, as a training file) instead of the job's")
    p.add_argument("--examples", type=positive_int, default=DEFAULT_EXAMPLES, metavar="N",
                   help=f"at most N examples per job ({DEFAULT_EXAMPLES})")
    p.add_argument("--concurrency", type=positive_int, default=DEFAULT_CONCURRENCY, metavar="K",
                   help=f"requests at once ({DEFAULT_CONCURRENCY}; fewer when the rate-limit headers say so)")
    p.add_argument("--max-cost", type=non_negative_number, default=DEFAULT_MAX_COST, metavar="USD",
                   help="send nothing if the estimate is higher (default 2 USD)")
    p.add_argument("--deployment", action="append", default=[], metavar="JOB=NAME",
                   help="Azure: the deployment serving a job's model (repeatable)")
    p.add_argument("--yes", action="store_true", help="do not ask before spending")
    p.add_argument("--json", action="store_true", help="the estimate and the outcome as JSON")
    add_connection_options(p)
    p.set_defaults(func=run)


def _deployments(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        job, sep, name = pair.partition("=")
        if not sep or not job.startswith("ftjob-") or not name:
            raise ValueError(f"--deployment wants JOB=NAME, not {pair!r}")
        out[job] = name
    return out


def run(args: argparse.Namespace) -> int:
    from ..errors import FtsyncError
    from ..record.runner import RecordOptions, plan_record, run_record

    try:
        options = RecordOptions(openai=openai_settings(args), wandb=wandb_settings(args), job_ids=args.ids,
                                limit=args.limit, checkpoints=args.checkpoints, base=args.base, file=args.file,
                                examples=args.examples, concurrency=args.concurrency, max_cost=args.max_cost,
                                deployments=_deployments(args.deployment))
        estimate = plan_record(options)
    except (FtsyncError, ValueError) as exc:
        print(f"ftsync record: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.json:
        print_estimate(estimate)
    over = estimate.total > options.max_cost
    if over:
        print(f"ftsync record: the estimate, {estimate.total:.4g} USD, is over --max-cost {options.max_cost:g} USD: "
              "nothing was sent (raise --max-cost, or fewer --examples)", file=sys.stderr)
        if args.json:
            print(json.dumps(estimate_json(estimate)))
        return EXIT_FAILED
    if not estimate.requests:
        pass  # nothing to ask: the outputs already recorded still go to W&B
    elif not args.yes and sys.stdin.isatty():
        reply = input(f"Spend up to {estimate.total:.2f} USD with this key? [y/N] ").strip().lower()
        if reply not in ("y", "yes"):
            print("ftsync record: nothing was sent", file=sys.stderr)
            return EXIT_FAILED
    elif not args.yes:
        print("ftsync record: not a terminal, so no one can confirm the cost: pass --yes", file=sys.stderr)
        return EXIT_USAGE
    bar = ProgressLine()
    try:
        report = run_record(options, estimate, progress=lambda text, done, total: bar.update(done, total, text))
    except FtsyncError as exc:
        bar.close()
        print(f"ftsync record: {exc}", file=sys.stderr)
        return EXIT_USAGE
    bar.close()
    if args.json:
        print(json.dumps({**estimate_json(estimate), **report_json(report)}))
    else:
        print_report(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def print_estimate(estimate: Estimate) -> None:
    rows = [(t.job_id, t.role, t.model, t.left, t.input_tokens, t.output_tokens,
             "gone" if t.gone else f"{t.cost:.4f}", t.deadline.until or "") for t in estimate.tasks]
    if rows:
        print(table(["job", "model", "id", "to ask", "input tokens", "output ≤", "USD", "serves until"], rows))
    for job, why in estimate.skipped:
        print(f"  {job}: not recorded: {why}")
    for t in estimate.tasks:
        if t.gone:
            print(f"  {t.job_id}: {t.gone}")
    unknown = f" (no price known for {', '.join(estimate.unknown_prices)}: the dearest assumed)" \
        if estimate.unknown_prices else ""
    print(f"Estimate: at most {estimate.total:.2f} USD (prices: {estimate.prices}){unknown}")


def print_report(report: RecordReport) -> None:
    rows = [(o.job_id, o.model, o.answered, o.asked, o.failed, o.scores.get("exact_match", ""),
             o.scores.get("similarity", ""), o.gone or "") for o in report.outcomes]
    if rows:
        print(table(["job", "model", "answered", "asked now", "failed", "exact", "similarity", "note"], rows))
    for o in report.outcomes:
        if o.gone:  # the table cuts its note
            print(f"  {o.job_id}: {o.gone}")
    for job, where in report.wandb:
        print(f"  {job}: W&B {where}" if where.startswith(("/", "http")) or "/" in where.split()[0] else f"  {job}: {where}")
    print(f"Recorded in {report.seconds:.1f}s")


def estimate_json(estimate: Estimate) -> dict:
    return {"estimate_usd": estimate.total, "prices": estimate.prices, "skipped": dict(estimate.skipped),
            "models": [{"job_id": t.job_id, "role": t.role, "model": t.model, "examples": len(t.examples),
                        "to_ask": t.left, "input_tokens": t.input_tokens,
                        "output_tokens_max": t.output_tokens, "usd": round(t.cost, 6), "gone": t.gone,
                        "serves_until": str(t.deadline.until) if t.deadline.until else None} for t in estimate.tasks]}


def report_json(report: RecordReport) -> dict:
    return {"outcomes": [o.__dict__ for o in report.outcomes], "wandb": dict(report.wandb), "ok": report.ok}
