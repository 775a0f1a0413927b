"""`ftsync validate`: check fine-tuning JSONL files the way OpenAI will, before uploading them.

Exit codes: 0 no errors (warnings allowed), 1 some file has an error, 2 a file is missing or
unreadable or the model/format is unknown (one line on stderr).

Training/validation overlap: give `--validation FILE`; or pass exactly two files of which exactly one
is named like a validation file (valid, validation, val, eval, dev, test as a word in its name): that
one is then checked for overlap with the other too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict

from ..exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE

LINES_SHOWN = 5
_VALIDATION_NAME = re.compile(r"(?:^|[^a-z])(valid|validation|val|eval|dev|test)(?:[^a-z]|$)", re.I)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check fine-tuning JSONL files: format, OpenAI's rules, exact token counts, cost",
        description="Check fine-tuning JSONL files as OpenAI will: detect the format (chat, preference, "
                    "reinforcement, legacy), report every problem with its line number, count tokens exactly "
                    "and estimate the training cost. Exit 1 if any file has an error.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="JSONL files to check")
    p.add_argument("--model", default=None, help="base model for token limit, tokenizer and price "
                                                 "(default: per format, e.g. gpt-4o-mini-2024-07-18 for chat)")
    p.add_argument("--validation", default=None, metavar="FILE",
                   help="validation file: also checked, and examples shared with the training files reported")
    p.add_argument("--format", default=None, dest="fmt", metavar="FORMAT",
                   help="force a format (chat, preference, reinforcement, legacy) instead of detecting it")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (JSON lines)")
    p.add_argument("--max-line-mb", type=_megabytes, default=None, dest="max_line_bytes", metavar="MB",
                   help="skip (and report) a line that would take more memory than this to parse "
                        "(default: 32; memory stays bounded on any file)")
    p.set_defaults(func=run)


def _megabytes(text: str) -> int:
    """An argparse type: a size in MB (decimal), as bytes."""
    try:
        mb = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of MB: {text!r}") from None
    if not 0 < mb <= 1_000_000:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1000000 MB, not {text}")
    return int(mb * 1_000_000)


def _looks_like_validation(path: str) -> bool:
    return bool(_VALIDATION_NAME.search(os.path.splitext(os.path.basename(path))[0]))


def _pairs(files: list[str], validation: str | None) -> list[tuple[str, str | None]]:
    """(file, validation file to compare it with) for every file to check."""
    if validation is None and len(files) == 2:
        flags = [_looks_like_validation(f) for f in files]
        if flags.count(True) == 1:
            validation = files[flags.index(True)]
            files = [files[flags.index(False)]]
    if validation is None:
        return [(f, None) for f in files]
    return [(f, validation) for f in files if f != validation] + [(validation, None)]


def _human_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def render(report, validation: str | None = None) -> str:
    """The human-readable report for one file."""
    errors, warnings = report.error_count, report.warning_count
    head = (f"{report.path}: {report.format or 'unknown format'}, {report.examples:,} examples, "
            f"{_human_bytes(report.bytes)} — {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)}")
    out = [head]
    if validation:
        out.append(f"  compared with validation file {validation}")
    groups = defaultdict(list)
    for f in report.findings:
        groups[f.code].append(f)
    for code, fs in sorted(groups.items(), key=lambda kv: (kv[1][0].severity != "error", kv[0])):
        lines = [f.line for f in fs if f.line is not None]
        where = ""
        if lines:
            shown = ", ".join(map(str, lines[:LINES_SHOWN]))
            more = report.counts[code] - min(len(lines), LINES_SHOWN)
            where = f" line{'s' * (len(lines) > 1)} {shown}{f' (+{more} more)' if more > 0 else ''}:"
        out.append(f"  {fs[0].severity:<7} {code} ×{report.counts[code]}{where} {fs[0].message}")
    t, s = report.tokens, report.stats
    if report.examples:
        how = f"{t['encoding']}, {_exactness(t['exact'], t['backend'])}"
        out.append(f"  tokens: {t['total']:,} total, {t['assistant']:,} trained (assistant), "
                   f"max {t['max_example']:,} per example ({how})")
        for label, key in (("messages/example", "messages_per_example"), ("tokens/example", "tokens_per_example")):
            d = s.get(key)
            if d:
                out.append(f"  {label}: min {d['min']:,}, median {d['median']:,.0f}, mean {d['mean']:,.1f}, "
                           f"p95 {d['p95']:,.0f}, max {d['max']:,}")
        if s.get("tokens_by_role"):
            out.append("  tokens by role: " + ", ".join(f"{r} {n:,}" for r, n in s["tokens_by_role"].items()))
    if report.n_epochs:
        if report.estimated_cost_usd is not None:
            out.append(f"  cost: {t['billed_per_epoch']:,} billed tokens/epoch × {report.n_epochs} epochs (OpenAI's "
                       f"default for {report.examples:,} examples) ≈ ${_usd(report.estimated_cost_usd)} on {report.model}")
        elif report.cost_note:
            out.append(f"  cost: {report.cost_note}")
    return "\n".join(out)


def _usd(x: float) -> str:
    return f"{x:,.2f}" if x >= 1 else f"{x:.4f}"


def _exactness(exact: bool, backend: str) -> str:
    if not exact:
        return "ESTIMATED (~4 chars/token)"
    # no backend: the file had no text to count, so no encoding was loaded (and zero is exact)
    return f"exact via {backend}" if backend else "exact"


def run(args: argparse.Namespace) -> int:
    from ..datasets import DatasetError, inspect, resolve_model
    from ..datasets.formats import normalize_format
    from ..datasets.reader import MAX_LINE_BYTES

    try:
        if args.model:
            resolve_model(args.model)
        normalize_format(getattr(args, "fmt", None))
        for path in [*args.files, *([args.validation] if args.validation else [])]:
            if not os.path.isfile(path):
                raise DatasetError(f"no such file: {path}" if not os.path.exists(path) else f"not a file: {path}")
            if not os.access(path, os.R_OK):
                raise DatasetError(f"cannot read {path}: permission denied")
    except DatasetError as exc:
        print(f"ftsync validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    failed = False
    for i, (path, validation) in enumerate(_pairs(list(args.files), args.validation)):
        try:
            report = inspect(path, model=args.model, validation=validation, fmt=getattr(args, "fmt", None),
                             max_line_bytes=getattr(args, "max_line_bytes", None) or MAX_LINE_BYTES)
        except DatasetError as exc:
            print(f"ftsync validate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        failed |= not report.ok
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
        else:
            print(("\n" if i else "") + render(report, validation), flush=True)
    return EXIT_FAILED if failed else EXIT_OK
