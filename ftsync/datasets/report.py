"""`inspect()`: one streaming pass that detects, validates and measures a dataset file."""

from __future__ import annotations

import os
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .checks import CHECKS, Info
from .codes import CODES, MAX_FINDINGS_PER_CODE, Finding, FindingLog, finding
from .formats import compatible, example_kind, normalize_format, read_ahead
from .lineindex import LineIndex
from .prices import DEFAULT_MODEL, BaseModel, resolve_model, training_cost
from .reader import MAX_LINE_BYTES, Line, LineReader, Source, source_name
from .stats import Stats, default_epochs, example_tokens
from .tokens import LazyCounter

MIN_EXAMPLES = 10
LINES_IN_MESSAGE = 10


@dataclass
class DatasetReport:
    path: str
    format: str | None
    examples: int
    bytes: int
    lines: int
    model: str | None
    findings: list[Finding]
    counts: dict[str, int]  # code -> number of findings, including those past the cap
    stats: dict[str, Any]
    tokens: dict[str, Any]
    n_epochs: int | None
    estimated_cost_usd: float | None
    cost_note: str = ""
    truncated_codes: list[str] = field(default_factory=list)
    # Per-example numbers (4 bytes each) for histograms; not part of to_json().
    per_example: dict[str, array] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Finding]:
        """The stored errors: the first `max_findings_per_code` of each code (see error_count)."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The stored warnings: the first `max_findings_per_code` of each code (see warning_count)."""
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def error_count(self) -> int:
        """Every error in the file, including those past the cap."""
        return sum(n for c, n in self.counts.items() if CODES[c][0] == "error")

    @property
    def warning_count(self) -> int:
        return sum(n for c, n in self.counts.items() if CODES[c][0] == "warning")

    def unlisted_note(self) -> str:
        """'' when every finding is listed, else which codes have more than are listed and how many."""
        if not self.truncated_codes:
            return ""
        listed = Counter(f.code for f in self.findings)
        more = ", ".join(f"{c} (and {self.counts[c] - listed[c]:,} more)" for c in self.truncated_codes)
        return f"Only the first {max(listed.values()):,} findings of a code are listed: {more}."

    @property
    def ok(self) -> bool:
        return not any(CODES[c][0] == "error" for c in self.counts)

    def to_json(self) -> dict[str, Any]:
        """The object `ftsync validate --json` prints for this file."""
        return {
            "path": self.path, "format": self.format, "examples": self.examples,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "tokens": {k: self.tokens[k] for k in ("total", "assistant", "max_example", "exact")},
            "estimated_cost_usd": self.estimated_cost_usd,
            "n_epochs": self.n_epochs,
            "model": self.model, "counts": self.counts, "bytes": self.bytes,
        }


def _lines_text(lines: list[int], total: int) -> str:
    shown = ", ".join(map(str, lines[:LINES_IN_MESSAGE]))
    more = f" and {total - LINES_IN_MESSAGE} more" if total > LINES_IN_MESSAGE else ""
    return f"line{'s' if total > 1 else ''} {shown}{more}"


def line_keys(source: Source, max_line_bytes: int = MAX_LINE_BYTES) -> LineIndex:
    """hash(stripped line bytes) -> first line number, for every parsed line of a file."""
    keys = LineIndex()
    # with a log, the reader yields only the lines that parse; keep=0: their problems are not reported here
    for rec in LineReader(source, log=FindingLog(keep=0), max_line_bytes=max_line_bytes):
        keys.setdefault(hash(rec.raw.strip()), rec.line)
    return keys


def inspect(source: Source, *, model: str | None = None, validation: Source | None = None,
            fmt: str | None = None, max_findings_per_code: int = MAX_FINDINGS_PER_CODE,
            max_line_bytes: int = MAX_LINE_BYTES) -> DatasetReport:
    """Validate and measure a JSONL dataset in one streaming pass, in bounded memory.

    `model`: the base model for token limits, encoding and price (default: per format, see prices.py).
    `validation`: a validation file; examples of `source` that also appear in it are reported.
    `fmt`: force a format instead of detecting it from the first lines.
    `max_findings_per_code`: findings stored per code; `counts` has them all.
    `max_line_bytes`: a line that would take more to parse is skipped as `line_too_large`.
    Raises DatasetError (one line) for an unreadable source or unknown model; bad content is findings.
    """
    base: BaseModel | None = resolve_model(model) if model else None
    fmt = normalize_format(fmt)
    val_keys = line_keys(validation, max_line_bytes) if validation is not None else LineIndex()
    # the file's own name: a cached account file is named by its id, a local one by its filename
    val_name = os.path.basename(source_name(validation)) if validation is not None else ""

    log = FindingLog(max_findings_per_code)
    add = log.add_finding
    reader = LineReader(source, log=log, max_line_bytes=max_line_bytes)  # yields only the lines that parse
    it = iter(reader)
    head: list[Line] = []
    if fmt is None:  # look ahead at the first examples only: memory stays bounded
        head, fmt = read_ahead(it)
    if base is None and fmt is not None:
        base = resolve_model(DEFAULT_MODEL[fmt])
    enc = LazyCounter(base.encoding if base else "o200k_base")  # loaded only if there is text to count
    limit = base.token_limit if base else 1 << 31

    stats = Stats()
    check = CHECKS.get(fmt) if fmt else None
    mixed: dict[str, list[int]] = {}
    mixed_n: Counter[str] = Counter()
    seen = LineIndex()
    examples = 0

    def records():
        yield from head
        yield from it

    for rec in records():
        n, ex = rec.line, rec.value
        if not isinstance(ex, dict):
            add(finding(n, "not_an_object", f"the line is a JSON {type(ex).__name__}, not an object"))
            continue
        kind = example_kind(ex)
        if kind is None or check is None:
            add(finding(n, "unrecognized_example"))
            continue
        if not compatible(kind, fmt):
            mixed_n[kind] += 1
            if mixed_n[kind] <= LINES_IN_MESSAGE:
                mixed.setdefault(kind, []).append(n)
            continue
        examples += 1
        info = Info()
        for f in check(n, ex, info):
            add(f)
        total, trained = example_tokens(enc, fmt, ex, stats.by_role)
        stats.add(info.messages, total, trained, limit)
        if fmt != "legacy":
            stats.without_system += not info.system
            stats.without_user += not info.user
        if info.images:
            stats.with_images += 1
            stats.images += info.images
        if total > limit:
            stats.over_limit += 1
            add(finding(n, "over_token_limit", f"{total:,} tokens; {base.name if base else 'the model'} "
                                                f"trains on at most {limit:,} (the rest is truncated)"))
        key = hash(rec.raw.strip())
        first = seen.setdefault(key, n)
        if first != n:
            add(finding(n, "duplicate_example", f"same as line {first}"))
        overlap = val_keys.get(key)
        if overlap is not None:
            add(finding(n, "validation_overlap", f"also in the validation file {val_name} (line {overlap})"))

    if mixed:
        parts = [f"{_lines_text(mixed[k], mixed_n[k])} {'are' if mixed_n[k] > 1 else 'is'} {k}" for k in mixed]
        add(finding(None, "mixed_formats", f"{'; '.join(parts)}; the file is {fmt}"))
    if examples < MIN_EXAMPLES:
        add(finding(None, "too_few_examples", f"{examples} example{'s' if examples != 1 else ''}; "
                                              f"OpenAI requires at least {MIN_EXAMPLES}"))
    findings = sorted(log.kept, key=lambda f: (f.line is not None, f.line or 0))

    n_epochs = default_epochs(examples)
    cost, note = None, ""
    if base is not None and n_epochs is not None:
        cost = training_cost(base, stats.billed, n_epochs)
        if cost is None:
            note = f"{base.name} (reinforcement fine-tuning) is billed by training time and grader use, not tokens"
    summary = stats.summary()
    tokens = {
        "total": sum(stats.tokens), "assistant": sum(stats.trained),
        "max_example": max(stats.tokens, default=0), "exact": enc.exact,
        "encoding": enc.name, "backend": enc.backend, "billed_per_epoch": stats.billed, "limit": limit,
    }
    return DatasetReport(
        path=source_name(source), format=fmt, examples=examples, bytes=reader.bytes_read, lines=reader.lines,
        model=base.name if base else None, findings=findings, counts=dict(log.counts), stats=summary,
        tokens=tokens, n_epochs=n_epochs, estimated_cost_usd=cost, cost_note=note,
        truncated_codes=log.truncated_codes,
        per_example={"tokens": stats.tokens, "assistant_tokens": stats.trained, "messages": stats.messages},
    )
