"""Token statistics and OpenAI's epoch/billing heuristics (cookbook Chat_finetuning_data_prep)."""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

from .formats import NON_PREFERRED_KEYS, PREFERRED_KEYS
from .tokens import PER_EXAMPLE, Counter as TokenCounter, message_tokens, tools_tokens

TARGET_EPOCHS, MIN_TARGET_EXAMPLES, MAX_TARGET_EXAMPLES = 3, 100, 25_000
MIN_DEFAULT_EPOCHS, MAX_DEFAULT_EPOCHS = 1, 25


def default_epochs(n_examples: int) -> int | None:
    """OpenAI's default n_epochs for a training file of n examples (None for an empty file)."""
    if n_examples <= 0:
        return None
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def _messages(enc: TokenCounter, messages: Any, by_role: Counter[str]) -> tuple[int, int]:
    total = trained = 0
    if isinstance(messages, list):
        for m in messages:
            if isinstance(m, dict):
                t, a = message_tokens(enc, m)
                role = m.get("role")
                by_role[role if isinstance(role, str) else "?"] += t
                total += t
                trained += a
    return total, trained


def example_tokens(enc: TokenCounter, fmt: str, ex: dict[str, Any], by_role: Counter[str]) -> tuple[int, int]:
    """(total, trained) tokens of one example; adds per-role tokens to `by_role`. See tokens.py for the rule."""
    if fmt == "legacy":
        p = enc.count(ex["prompt"]) if isinstance(ex.get("prompt"), str) else 0
        c = enc.count(ex["completion"]) if isinstance(ex.get("completion"), str) else 0
        by_role["prompt"] += p
        by_role["completion"] += c
        return p + c, c
    if fmt == "preference":
        inp = ex.get("input")
        total = trained = 0
        if isinstance(inp, dict):
            total, _ = _messages(enc, inp.get("messages"), by_role)
            t = tools_tokens(enc, inp)
            by_role["tools"] += t
            total += t
        # Both outputs are trained on (one pushed up, one down).
        for keys in (PREFERRED_KEYS, NON_PREFERRED_KEYS):
            out = next((ex[k] for k in keys if k in ex), None)
            t, a = _messages(enc, out, by_role)
            total += t
            trained += a
        return total + PER_EXAMPLE, trained
    total, trained = _messages(enc, ex.get("messages"), by_role)
    t = tools_tokens(enc, ex)
    if t:
        by_role["tools"] += t
    return total + t + PER_EXAMPLE, trained


def distribution(values: array) -> dict[str, float] | None:
    """min/max/mean/median/p5/p95 as the cookbook prints them (linear-interpolated quantiles)."""
    if not values:
        return None
    s = sorted(values)

    def q(p: float) -> float:
        x = p * (len(s) - 1)
        lo = int(x)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (x - lo)

    return {"min": s[0], "max": s[-1], "mean": round(sum(s) / len(s), 2), "median": q(0.5),
            "p5": round(q(0.05), 2), "p95": round(q(0.95), 2)}


class Stats:
    """Per-example numbers kept as compact arrays (4 bytes each) for exact distributions."""

    def __init__(self) -> None:
        self.messages = array("I")
        self.tokens = array("I")
        self.trained = array("I")
        self.by_role: Counter[str] = Counter()
        self.without_system = self.without_user = self.with_images = self.images = 0
        self.over_limit = 0
        self.billed = 0  # sum of min(limit, tokens) per example: tokens billed per epoch

    def add(self, messages: int, tokens: int, trained: int, limit: int) -> None:
        self.messages.append(messages)
        self.tokens.append(tokens)
        self.trained.append(trained)
        self.billed += min(limit, tokens)

    def summary(self) -> dict[str, Any]:
        return {
            "messages_per_example": distribution(self.messages),
            "tokens_per_example": distribution(self.tokens),
            "assistant_tokens_per_example": distribution(self.trained),
            "tokens_by_role": dict(self.by_role.most_common()),
            "examples_without_system": self.without_system,
            "examples_without_user": self.without_user,
            "examples_with_images": self.with_images,
            "images": self.images,
            "examples_over_limit": self.over_limit,
            "billed_tokens_per_epoch": self.billed,
        }


HISTOGRAMS = {"tokens": "Tokens per example", "assistant_tokens": "Trained (assistant) tokens per example",
              "messages": "Messages per example"}


def histograms(report: Any, max_values: int = 5000) -> dict[str, list[int]]:
    """Title -> per-example values for charts. Past `max_values`, every k-th example (an even,
    deterministic stride), so a chart of a million-example file stays light."""
    out: dict[str, list[int]] = {}
    for key, title in HISTOGRAMS.items():
        values = report.per_example.get(key)
        if values:
            step = -(-len(values) // max_values)
            out[title] = list(values[::step])
    return out
