"""Scores of an answer against its reference that need no other model: exact match, normalised
similarity, JSON validity and equality, tool name and arguments, and (preference data) whether the
answer is closer to the chosen answer than to the rejected one. None where a score does not apply."""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from typing import Any

from ..datasets.tables import text_of

SCORES = ("exact_match", "similarity", "valid_json", "equal_json", "tool_name_match", "tool_args_match",
          "closer_to_chosen")
_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def similarity(a: str, b: str) -> float:
    """0..1, on normalised text (difflib's ratio; identical texts 1.0)."""
    a, b = normalised(a), normalised(b)
    if a == b:
        return 1.0
    return round(SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


def _text(message: dict[str, Any] | None) -> str:
    return text_of(message.get("content")) if message else ""


def _calls(message: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(name, parsed arguments) of a message's tool calls (or its legacy function call)."""
    if not message:
        return []
    calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) else []
    if isinstance(message.get("function_call"), dict):
        calls = [*calls, {"function": message["function_call"]}]
    out = []
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            out.append((fn.get("name"), _json(fn.get("arguments"))))
    return out


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return _INVALID


_INVALID = object()


def score(answer: dict[str, Any] | None, reference: dict[str, Any] | None,
          rejected: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every score of SCORES for one answer (None where it does not apply)."""
    out: dict[str, Any] = dict.fromkeys(SCORES)
    if answer is None or reference is None:
        return out
    got, want = _text(answer), _text(reference)
    want_calls, got_calls = _calls(reference), _calls(answer)
    if want_calls or got_calls:
        out["tool_name_match"] = [n for n, _ in got_calls] == [n for n, _ in want_calls]
        out["tool_args_match"] = out["tool_name_match"] and [a for _, a in got_calls] == [a for _, a in want_calls]
    if want or got:
        out["exact_match"] = normalised(got) == normalised(want)
        out["similarity"] = similarity(got, want)
        expected = _json(want) if want.lstrip()[:1] in ("{", "[") else _INVALID
        if expected is not _INVALID:
            parsed = _json(got)
            out["valid_json"] = parsed is not _INVALID
            out["equal_json"] = parsed == expected
    if want_calls:  # a tool call is matched by its name and arguments (and any text beside them)
        out["exact_match"] = bool(out["tool_args_match"]) and normalised(got) == normalised(want)
    if rejected is not None:
        out["closer_to_chosen"] = similarity(got, want) > similarity(got, _text(rejected))
    return out
