"""The prompts a model is asked to answer, from a job's own files: each example's conversation up to
its last assistant turn, with the example's own tools, and that turn as the reference.

The validation file when the job has one; else a seeded sample of the training file, marked as seen
in training (the model learnt those answers). Read as a stream: memory holds the chosen examples only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..datasets.codes import FindingLog
from ..datasets.formats import NON_PREFERRED_KEYS, PREFERRED_KEYS
from ..datasets.reader import LineReader, Source

SAMPLE_SEED = 0
MIN_TOKENS, MAX_TOKENS, NO_REFERENCE_TOKENS = 16, 1024, 256


@dataclass
class Example:
    line: int  # in its file, from 1
    messages: list[dict[str, Any]]  # what the model is sent
    reference: dict[str, Any] | None  # the answer in the file (preference data: the chosen one)
    rejected: dict[str, Any] | None = None  # preference data: the other one
    options: dict[str, Any] = field(default_factory=dict)  # the example's tools / functions / parallel_tool_calls
    seen_in_training: bool = False


def _msgs(value: Any) -> list[dict[str, Any]]:
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def example_of(line: int, ex: Any, seen: bool) -> Example | None:
    """The prompt and reference of one JSONL example, or None for a line that is no chat example
    (legacy prompt/completion data needs the completions API: not recorded)."""
    if not isinstance(ex, dict):
        return None
    if isinstance(ex.get("input"), dict):  # preference (DPO)
        body = ex["input"]
        prompt = _msgs(body.get("messages"))
        chosen = next((_msgs(ex[k]) for k in PREFERRED_KEYS if k in ex), [])
        other = next((_msgs(ex[k]) for k in NON_PREFERRED_KEYS if k in ex), [])
        if not prompt:
            return None
        return Example(line, prompt, chosen[-1] if chosen else None, other[-1] if other else None,
                       _options(body), seen)
    msgs = _msgs(ex.get("messages"))
    if not msgs:
        return None
    last = max((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=None)
    if last is None:  # reinforcement data: the grader's fields are the reference, not an answer
        return Example(line, msgs, None, None, _options(ex), seen)
    if last == 0:
        return None
    return Example(line, msgs[:last], msgs[last], None, _options(ex), seen)


def _options(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("tools", "functions", "parallel_tool_calls") if body.get(k) is not None}


def examples_from(source: Source, *, limit: int, seen_in_training: bool = False) -> list[Example]:
    """Up to `limit` examples: the first ones of a validation file; a seeded sample (in file order)
    of a training file, every example equally likely."""
    rng = random.Random(SAMPLE_SEED)
    kept: list[Example] = []
    total = 0
    for rec in LineReader(source, log=FindingLog(keep=0)):
        example = example_of(rec.line, rec.value, seen_in_training)
        if example is None:
            continue
        total += 1
        if len(kept) < limit:
            kept.append(example)
        elif seen_in_training:
            j = rng.randrange(total)  # reservoir: each example kept with probability limit/total
            if j < limit:
                kept[j] = example
        else:
            break  # validation: the first `limit`
    return sorted(kept, key=lambda e: e.line)


def max_tokens_for(reference_tokens: int | None) -> int:
    """An answer may be twice the reference's length (and a little): enough to be judged, bounded in cost."""
    if reference_tokens is None:
        return NO_REFERENCE_TOKENS
    return max(MIN_TOKENS, min(MAX_TOKENS, 2 * reference_tokens + 16))
