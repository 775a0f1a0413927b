"""Training and validation files for emulated workspaces, in every fine-tuning format.

Small files (demo) are rendered to bytes; large ones (bench) are streamed line by line with a
fixed line length, so their exact size is known without generating them and a 500 MB file costs
no memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .rand import choice, mix

TOPICS = ["billing", "shipping", "refunds", "passwords", "invoices", "warranty", "upgrades", "returns"]
PRODUCTS = ["the Pro plan", "order 4411", "the blue kettle", "a gift card", "the mobile app", "my subscription"]
TONES = ["Sure!", "Of course.", "Happy to help.", "Thanks for asking."]
SYSTEM = "You are Acme's support assistant. Answer briefly and politely."
# A 1x1 PNG: vision examples stay valid and tiny.
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Look up the status of an order",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}

FORMATS = ("chat", "multiturn", "weighted", "tools", "vision", "dpo", "rft", "legacy")


def _question(key: int, i: int) -> str:
    return f"How do I sort out {choice(TOPICS, key, i)} for {choice(PRODUCTS, key, i + 7)}? (case {i})"


def _answer(key: int, i: int) -> str:
    topic = choice(TOPICS, key, i)
    return f"{choice(TONES, key, i + 3)} For {topic}, open Settings > {topic.title()} and follow the steps there."


def example(fmt: str, seed: int, i: int) -> dict[str, Any]:
    """Example `i` of a file in format `fmt`."""
    k = mix(seed, fmt)
    q, a = _question(k, i), _answer(k, i)
    if fmt == "chat":
        return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q},
                             {"role": "assistant", "content": a}]}
    if fmt in ("multiturn", "weighted"):
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
        for turn in range(2 + i % 3):
            messages.append({"role": "user", "content": _question(k, i * 5 + turn)})
            reply: dict[str, Any] = {"role": "assistant", "content": _answer(k, i * 5 + turn)}
            if fmt == "weighted":
                reply["weight"] = 1 if turn % 2 else 0
            messages.append(reply)
        if fmt == "weighted":
            messages[-1]["weight"] = 1
        return {"messages": messages}
    if fmt == "tools":
        call_id = f"call_{i:05d}"
        order = 1000 + k % 90_000 + i  # files with other seeds get other orders: no train/valid overlap
        return {
            "messages": [
                {"role": "user", "content": f"Where is order {order}?"},
                {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": {
                    "name": "get_order_status", "arguments": json.dumps({"order_id": str(order)})}}]},
                {"role": "tool", "tool_call_id": call_id, "content": json.dumps({"status": "shipped", "eta_days": i % 5})},
                {"role": "assistant", "content": f"Order {order} has shipped and arrives in {i % 5} days."},
            ],
            "tools": [WEATHER_TOOL],
            "parallel_tool_calls": False,
        }
    if fmt == "vision":
        return {"messages": [
            {"role": "system", "content": "Describe product photos for the catalogue."},
            {"role": "user", "content": [{"type": "text", "text": f"What is shown in photo {k % 1000}-{i}?"},
                                         {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}}]},
            {"role": "assistant", "content": f"A single {choice(['red', 'green', 'blue'], k, i)} pixel, item {i}."},
        ]}
    if fmt == "dpo":
        return {
            "input": {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
                      "tools": [], "parallel_tool_calls": True},
            "preferred_output": [{"role": "assistant", "content": a}],
            "non_preferred_output": [{"role": "assistant", "content": "I don't know. Figure it out yourself."}],
        }
    if fmt == "rft":
        return {"messages": [{"role": "developer", "content": "Answer with yes or no and a reason."},
                             {"role": "user", "content": f"Is {choice(PRODUCTS, k, i)} covered by the warranty? ({k % 1000}-{i})"}],
                "compliant": choice(["yes", "no"], k, i), "explanation": f"Policy section {i % 12 + 1} applies."}
    if fmt == "legacy":
        return {"prompt": f"{q}\n\n###\n\n", "completion": f" {a} END"}
    raise ValueError(f"unknown format {fmt!r}")


def render(fmt: str, seed: int, n: int) -> bytes:
    """A whole small JSONL file."""
    return b"".join(json.dumps(example(fmt, seed, i)).encode() + b"\n" for i in range(n))


class FixedLineFile:
    """A large chat JSONL file streamed from templates, every line exactly `line_bytes` long.

    Each line embeds its index, so lines are distinct; the padding sits inside the assistant's
    text, so every line stays valid JSON.
    """

    TEMPLATES = 16

    def __init__(self, seed: int, n_lines: int, line_bytes: int = 512):
        self.seed, self.n_lines, self.line_bytes = seed, n_lines, line_bytes
        self._templates = [self._template(t) for t in range(self.TEMPLATES)]

    @property
    def size(self) -> int:
        return self.n_lines * self.line_bytes

    def _template(self, t: int) -> bytes:
        k = mix(self.seed, "fixed")
        head = json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": _question(k, t)},
                                        {"role": "assistant", "content": "@@"}]})
        # "@@" becomes: "%012d " + answer + filler, sized so the line (with "\n") is exact.
        prefix, suffix = head.split("@@")
        answer = _answer(k, t) + " "
        room = self.line_bytes - 1 - len(prefix) - len(suffix) - 13 - len(answer)
        if room < 0:
            raise ValueError(f"line_bytes={self.line_bytes} is too small for a chat example")
        filler = ("More details follow. " * (room // 21 + 1))[:room]
        return (prefix + "%012d " + answer + filler + suffix + "\n").encode()

    def line(self, i: int) -> bytes:
        return self._templates[i % self.TEMPLATES] % i

    def chunks(self, start: int = 0, chunk_lines: int = 2048) -> Iterator[bytes]:
        for lo in range(start, self.n_lines, chunk_lines):
            yield b"".join(self.line(i) for i in range(lo, min(self.n_lines, lo + chunk_lines)))
