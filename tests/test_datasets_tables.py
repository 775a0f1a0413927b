"""Table views: a page for the UI, a bounded sample for W&B."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ftsync.datasets import DatasetError, table_frame, wandb_rows
from ftsync.emulator.datagen import FixedLineFile, render

DATA = Path(__file__).parent / "data" / "datasets"


def test_chat_page_columns_and_conversation() -> None:
    df = table_frame(DATA / "good_chat.jsonl", limit=50)
    assert list(df.columns) == ["line", "system", "user", "assistant", "turns", "tools", "conversation"]
    assert len(df) == 11 and df["line"].tolist() == list(range(1, 12))
    weighted = df[df["line"] == 3].iloc[0]
    assert weighted["conversation"] == ("system: You are terse.\nuser: a\nassistant (weight 0): b\nuser: c\n"
                                        "assistant: d")
    assert weighted["turns"] == 2
    tools = df[df["line"] == 4].iloc[0]
    assert tools["tools"] == "get_order"
    assert 'assistant: → get_order({"id": "7"})' in tools["conversation"]
    assert df[df["line"] == 5].iloc[0]["user"] == "What is this? [image]"
    assert df[df["line"] == 2].iloc[0]["system"] == "Be brief."  # developer counts as system


def test_preference_reinforcement_and_legacy_columns() -> None:
    df = table_frame(DATA / "good_preference.jsonl")
    assert list(df.columns) == ["line", "prompt", "preferred", "non_preferred"]
    assert df.iloc[0]["prompt"] == "system: Be nice.\nuser: Q0?" and df.iloc[0]["preferred"] == "Good answer 0."
    assert df.iloc[-1][["prompt", "preferred", "non_preferred"]].tolist() == ["alias?", "Yes.", "No."]
    df = table_frame(DATA / "good_reinforcement.jsonl")
    assert list(df.columns) == ["line", "messages", "answer"]
    assert df.iloc[1]["answer"] == "no" and df.iloc[1]["messages"].endswith("user: Is 1 even?")
    df = table_frame(DATA / "good_legacy.jsonl", limit=2)
    assert list(df.columns) == ["line", "prompt", "completion"] and len(df) == 2


def test_offset_limit_and_search() -> None:
    data = render("chat", 3, 40)
    assert table_frame(data, offset=35, limit=10)["line"].tolist() == [36, 37, 38, 39, 40]
    hits = table_frame(data, search="(CASE 1")  # case-insensitive: "case 1", "case 10".."case 19"
    assert hits["line"].tolist() == [2] + list(range(11, 21))
    assert table_frame(data, search="case 1", offset=2, limit=3)["line"].tolist() == [12, 13, 14]
    assert table_frame(data, search="no such text").empty


def test_page_skips_lines_of_other_formats_and_bad_lines() -> None:
    df = table_frame(DATA / "mixed_formats.jsonl")
    assert 4 not in df["line"].tolist() and len(df) == 10
    assert len(table_frame(DATA / "invalid_json.jsonl")) == 10


def test_forced_and_unknown_format() -> None:
    assert list(table_frame(render("dpo", 1, 3), "dpo").columns)[1] == "prompt"
    with pytest.raises(DatasetError, match="unknown format"):
        table_frame(b"", "essay")


class _Counting(io.RawIOBase):
    """A 512 MB virtual chat file that counts how much of it is read."""

    def __init__(self, lines: int) -> None:
        self.chunks = FixedLineFile(0, lines, 512).chunks()
        self.buffer = b""
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while len(self.buffer) < n:
            more = next(self.chunks, b"")
            if not more:
                break
            self.buffer += more
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        self.read_bytes += len(out)
        return out


def test_first_page_reads_only_the_head_of_a_huge_file() -> None:
    stream = _Counting(1_000_000)  # 512 MB if read in full
    df = table_frame(stream, limit=50)
    assert len(df) == 50
    assert stream.read_bytes <= 2 << 20  # two 1 MiB chunks at most


def test_wandb_rows_all_when_small() -> None:
    rows = wandb_rows(DATA / "good_chat.jsonl")
    assert rows.columns[:5] == ["line", "role: system", "role: user", "role: assistant", "system"]
    assert rows.total == 11 and len(rows.rows) == 11
    assert not rows.sampled and rows.sampling == "all 11 examples"
    assert all(isinstance(c, (str, int, float)) for r in rows.rows for c in r)


def test_wandb_rows_reservoir_sample_is_bounded_deterministic_and_in_file_order() -> None:
    data = render("chat", 5, 500)
    a, b = wandb_rows(data, max_rows=20), wandb_rows(io.BytesIO(data), max_rows=20)
    assert a.rows == b.rows and a.sampled and a.total == 500 and len(a.rows) == 20
    lines = [r[0] for r in a.rows]
    assert lines == sorted(lines) and lines != list(range(1, 21))  # not just the first 20
    assert "reservoir" in a.sampling and "seed" in a.sampling


def test_wandb_rows_carry_wandbs_chat_columns_beside_ftsyncs() -> None:
    """W&B's logger tables chat as `role: system`, `role: user`, `role: assistant` (its example
    notebook reads them by name): the same contents for its 3-message examples; for a longer
    conversation the system prompt, the user turn the last answer replies to, and that answer."""
    three = {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "4"}]}
    multi = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                          {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
                          {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                                                "function": {"name": "get", "arguments": "{}"}}]}]}
    data = "\n".join(json.dumps(x) for x in (three, multi)).encode()
    rows = wandb_rows(io.BytesIO(data))
    got = [dict(zip(rows.columns, r)) for r in rows.rows]
    assert [(g["role: system"], g["role: user"], g["role: assistant"]) for g in got] == [
        ("Be terse.", "2+2?", "4"), ("", "weather?", "→ get({})")]
    assert got[0]["system"] == "Be terse." and got[1]["turns"] == 2  # ftsync's columns stay
    assert "role: user" not in table_frame(io.BytesIO(data)).columns  # the dashboard's preview keeps its own
