"""Readable rows of a dataset: a page for the UI (`table_frame`) and a sample for W&B (`wandb_rows`).

Columns fit the format; multi-turn conversations are rendered as "role: text" lines. Rows come only
from lines that parse as examples; bad lines are the validator's business, not the preview's.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from .codes import FindingLog
from .formats import (CHAT_KEYS, NON_PREFERRED_KEYS, PREFERRED_KEYS, compatible, example_kind, normalize_format,
                      read_ahead)
from .reader import Line, LineReader, Source

COLUMNS = {
    "chat": ["line", "system", "user", "assistant", "turns", "tools", "conversation"],
    "preference": ["line", "prompt", "preferred", "non_preferred"],
    "reinforcement": ["line", "messages"],  # + one column per reference field
    "legacy": ["line", "prompt", "completion"],
}
# W&B's logger's columns for chat examples (the only format it tables): code written against it reads
# `row["role: user"]`; W&B tables gets them beside ftsync's own columns
WANDB_CHAT_COLUMNS = ["role: system", "role: user", "role: assistant"]
SAMPLE_SEED = 0


def _json(v: Any) -> str:
    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return str(v)


def text_of(content: Any) -> str:
    """A message's content as text: parts joined, images as [image]."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for p in content:
            if isinstance(p, dict) and p.get("type") == "image_url":
                out.append("[image]")
            elif isinstance(p, dict) and isinstance(p.get("text"), str):
                out.append(p["text"])
            else:
                out.append(_json(p))
        return " ".join(out)
    return "" if content is None else _json(content)


def message_text(m: dict[str, Any]) -> str:
    parts = [text_of(m.get("content"))] if m.get("content") is not None else []
    calls = m.get("tool_calls") if isinstance(m.get("tool_calls"), list) else []
    if isinstance(m.get("function_call"), dict):
        calls = [*calls, {"function": m["function_call"]}]
    for c in calls:
        fn = c.get("function") if isinstance(c, dict) else None
        if isinstance(fn, dict):
            parts.append(f"→ {fn.get('name')}({fn.get('arguments', '')})")
    if isinstance(m.get("refusal"), str):
        parts.append(f"[refusal] {m['refusal']}")
    return " ".join(p for p in parts if p)


def conversation(messages: Any) -> str:
    """'role: text' per message; weight-0 turns are marked as not trained."""
    if not isinstance(messages, list):
        return ""
    lines = []
    for m in messages:
        if not isinstance(m, dict):
            lines.append(_json(m))
            continue
        mark = " (weight 0)" if m.get("weight", 1) == 0 else ""
        lines.append(f"{m.get('role', '?')}{mark}: {message_text(m)}")
    return "\n".join(lines)


def _msgs(messages: Any) -> list[dict[str, Any]]:
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _tool_names(ex: dict[str, Any]) -> str:
    names = []
    for t in ex["tools"] if isinstance(ex.get("tools"), list) else []:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and fn.get("name") is not None:
            names.append(str(fn["name"]))
    for f in ex["functions"] if isinstance(ex.get("functions"), list) else []:
        if isinstance(f, dict) and f.get("name") is not None:
            names.append(str(f["name"]))
    return ", ".join(names)


def row(fmt: str, line: int, ex: dict[str, Any]) -> dict[str, Any]:
    """One table row (column -> str/int) for an example of format `fmt`."""
    if fmt == "legacy":
        return {"line": line, "prompt": text_of(ex.get("prompt")), "completion": text_of(ex.get("completion"))}
    if fmt == "preference":
        inp = ex.get("input") if isinstance(ex.get("input"), dict) else {}
        msgs = _msgs(inp.get("messages"))
        prompt = text_of(msgs[0].get("content")) if len(msgs) == 1 else conversation(msgs)

        def output(keys: tuple[str, ...]) -> str:
            value = next((ex[k] for k in keys if k in ex), None)
            return "\n".join(message_text(m) for m in _msgs(value))

        return {"line": line, "prompt": prompt, "preferred": output(PREFERRED_KEYS),
                "non_preferred": output(NON_PREFERRED_KEYS)}
    msgs = _msgs(ex.get("messages"))
    if fmt == "reinforcement":
        r: dict[str, Any] = {"line": line, "messages": conversation(ex.get("messages"))}
        for k, v in ex.items():
            if k not in CHAT_KEYS:
                r[k] = v if isinstance(v, str) else _json(v)
        return r
    first = lambda role: next((text_of(m.get("content")) for m in msgs if m.get("role") == role), "")  # noqa: E731
    system = first("system") or first("developer")
    assistant = [m for m in msgs if m.get("role") == "assistant"]
    return {"line": line, "system": system, "user": first("user"),
            "assistant": message_text(assistant[-1]) if assistant else "", "turns": len(assistant),
            "tools": _tool_names(ex), "conversation": conversation(ex.get("messages"))}


def wandb_chat_cells(ex: dict[str, Any]) -> dict[str, str]:
    """W&B's three chat columns: for its [system, user, assistant] examples the three contents, as
    W&B's logger puts them; for any other conversation, the system prompt, the user turn the last
    assistant answers, and that answer (what its example notebook reads as prompt and target)."""
    msgs = _msgs(ex.get("messages"))
    last = max((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=len(msgs))
    system = next((m for m in msgs if m.get("role") in ("system", "developer")), None)
    user = next((m for m in reversed(msgs[:last]) if m.get("role") == "user"), None)
    return {"role: system": text_of(system.get("content")) if system else "",
            "role: user": text_of(user.get("content")) if user else "",
            "role: assistant": message_text(msgs[last]) if last < len(msgs) else ""}


def _examples(source: Source, fmt: str | None):
    """(format, iterator of (line, example)) for lines of the file's format; detection looks ahead
    at the first examples without rereading, so non-seekable streams work."""
    it = iter(LineReader(source, log=FindingLog(keep=0)))  # only lines that parse: no object per bad line
    head: list[Line] = []
    fmt = normalize_format(fmt)
    if fmt is None:
        head, fmt = read_ahead(it)
        fmt = fmt or "chat"

    def gen():
        for rec in _chain(head, it):
            if isinstance(rec.value, dict) and compatible(example_kind(rec.value), fmt):
                yield rec.line, rec.value

    return fmt, gen()


def _chain(head: list[Line], it):
    yield from head
    yield from it


def _frame_columns(fmt: str, rows: list[dict[str, Any]]) -> list[str]:
    cols = list(COLUMNS[fmt])
    for r in rows:  # reference fields of RFT examples, in order of first appearance
        cols.extend(k for k in r if k not in cols)
    return cols


def table_frame(source: Source, fmt: str | None = None, *, offset: int = 0, limit: int = 50,
                search: str | None = None):
    """A page of examples as a pandas DataFrame: rows offset..offset+limit of the examples matching
    `search` (case-insensitive, in any cell). Reads only as far as the page needs."""
    import pandas as pd

    fmt, examples = _examples(source, fmt)
    needle = search.casefold() if search else None
    rows: list[dict[str, Any]] = []
    skipped = 0
    for line, ex in examples:
        if len(rows) >= limit:
            break
        if needle is None and skipped < offset:  # skip without rendering
            skipped += 1
            continue
        r = row(fmt, line, ex)
        if needle is not None:
            if not any(needle in str(v).casefold() for v in r.values() if not isinstance(v, int)):
                continue
            if skipped < offset:
                skipped += 1
                continue
        rows.append(r)
    columns = _frame_columns(fmt, rows)
    # Column-wise construction is several times faster than a list of dicts for small pages.
    return pd.DataFrame({c: pd.Series([r.get(c, "") for r in rows], dtype="int64" if c in ("line", "turns") else object)
                         for c in columns}, columns=columns)


@dataclass
class TableRows:
    """Rows for a wandb.Table: `columns`, `rows` (lists of str/int), `total` examples in the file,
    `sampled` (True when rows is a subset) and `sampling` (how)."""

    format: str
    columns: list[str]
    rows: list[list[Any]]
    total: int
    sampled: bool
    sampling: str


def wandb_rows(source: Source, fmt: str | None = None, *, max_rows: int = 10_000) -> TableRows:
    """Every example when there are at most `max_rows`, else a reservoir sample with a fixed seed
    (same file -> same rows), in file order. Memory is bounded by max_rows examples."""
    fmt, examples = _examples(source, fmt)
    rng = random.Random(SAMPLE_SEED)
    keep: list[tuple[int, dict[str, Any]]] = []
    total = 0
    for line, ex in examples:
        total += 1
        if len(keep) < max_rows:
            keep.append((line, ex))
        else:
            j = rng.randrange(total)  # Algorithm R: each example kept with probability max_rows/total
            if j < max_rows:
                keep[j] = (line, ex)
    keep.sort(key=lambda t: t[0])
    dicts = [row(fmt, line, ex) for line, ex in keep]
    columns = _frame_columns(fmt, dicts)
    if fmt == "chat":  # W&B's column names first (after the line), ftsync's richer ones beside them
        for d, (_, ex) in zip(dicts, keep):
            d.update(wandb_chat_cells(ex))
        columns = columns[:1] + WANDB_CHAT_COLUMNS + columns[1:]
    rows = [[d.get(c, "") for c in columns] for d in dicts]
    sampled = total > max_rows
    how = (f"reservoir sample of {max_rows:,} of {total:,} examples (seed {SAMPLE_SEED}), in file order"
           if sampled else f"all {total:,} examples")
    return TableRows(fmt, columns, rows, total, sampled, how)
