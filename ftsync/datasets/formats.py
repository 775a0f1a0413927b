"""Which fine-tuning method a line (and a file) is for.

Formats: "chat" (supervised; tools, weights and images are features of chat), "preference" (DPO),
"reinforcement" (RFT), "legacy" (prompt/completion). A file's format is the most common kind among
its first DETECT_LINES examples, so detection reads only the head of a file of any size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from .reader import Line, Source, iter_lines, parse_cost

FORMATS = ("chat", "preference", "reinforcement", "legacy")
# Spellings users and older docs use for the same formats.
FORMAT_ALIASES = {"sft": "chat", "supervised": "chat", "vision": "chat", "dpo": "preference",
                  "rft": "reinforcement", "completion": "legacy", "prompt_completion": "legacy"}
DETECT_LINES = 100

CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
PREFERRED_KEYS = ("preferred_output", "preferred_completion")  # *_completion: the spec's spelling
NON_PREFERRED_KEYS = ("non_preferred_output", "non_preferred_completion")
PREFERENCE_KEYS = frozenset({"input", *PREFERRED_KEYS, *NON_PREFERRED_KEYS})


def example_kind(value: Any) -> str | None:
    """The format one parsed line belongs to, or None when it fits none."""
    if not isinstance(value, dict):
        return None
    if not PREFERENCE_KEYS.isdisjoint(value):
        return "preference"
    if "messages" in value:
        # Reference keys next to messages are what makes an RFT example (the grader reads them).
        return "reinforcement" if any(k not in CHAT_KEYS for k in value) else "chat"
    if "prompt" in value or "completion" in value:
        return "legacy"
    return None


def compatible(kind: str | None, fmt: str) -> bool:
    """Whether a line of `kind` is validated as `fmt` rather than reported as another format.
    A chat-shaped line in an RFT file is an RFT example lacking its reference fields."""
    return kind == fmt or (fmt == "reinforcement" and kind == "chat")


def majority(kinds: Counter[str], order: list[str]) -> str | None:
    """Most common kind; ties go to the one seen first."""
    if not kinds:
        return None
    best = max(kinds.values())
    return next(k for k in order if kinds[k] == best)


def normalize_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    key = fmt.strip().lower()
    key = FORMAT_ALIASES.get(key, key)
    if key not in FORMATS:
        from .codes import DatasetError

        raise DatasetError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return key


READ_AHEAD_RECORDS = 5_000  # a file whose first lines are junk is not buffered whole to find its format
READ_AHEAD_BYTES = 16 << 20  # of parse_cost: what the held lines take parsed, not their length on disk


def read_ahead(records: Iterator[Line], lines: int = DETECT_LINES) -> tuple[list[Line], str | None]:
    """Consume the first `lines` recognisable examples of `records` and name the file's format by
    majority; the consumed records are returned so the caller replays them (no second read, so
    non-seekable streams work). The look-ahead stops at READ_AHEAD_RECORDS lines or
    READ_AHEAD_BYTES, whichever comes first: memory stays bounded on any input."""
    kinds: Counter[str] = Counter()
    order: list[str] = []
    head: list[Line] = []
    held = 0
    for rec in records:
        head.append(rec)
        held += parse_cost(rec.raw)
        if len(head) >= READ_AHEAD_RECORDS or held >= READ_AHEAD_BYTES:
            break
        kind = example_kind(rec.value) if rec.finding is None else None
        if kind:
            if kind not in kinds:
                order.append(kind)
            kinds[kind] += 1
            if sum(kinds.values()) >= lines:
                break
    return head, majority(kinds, order)


def detect_format(source: Source, *, lines: int = DETECT_LINES) -> str | None:
    """The format of a file from its first `lines` examples; None when none is recognisable."""
    return read_ahead(iter(iter_lines(source)), lines)[1]
