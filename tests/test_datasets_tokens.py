"""Exact token counts: known ids, tiktoken vs bpe-openai on a corpus, the counting rule."""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import json

import pytest

from ftsync.datasets import count_tokens, encoding_for_model, get_encoder, inspect
from ftsync.datasets import tokens as tokens_mod

KNOWN_IDS = {
    ("o200k_base", "hello world"): [24912, 2375],
    ("cl100k_base", "hello world"): [15339, 1917],
    # tiktoken's README/test-suite values
    ("cl100k_base", "hello 👋 world 🌍"): [15339, 62904, 233, 1917, 11410, 234, 235],
    ("o200k_base", "hello 👋 world 🌍"): [24912, 61138, 233, 2375, 130321, 235],
}
CORPUS = [
    "", " ", "hello world", "Hello, World!", "  leading and trailing  ", "tabs\tand\nnewlines\r\n",
    "naïve café — déjà vu", "日本語のテキストです。", "Привет, мир", "🙂🙃 emoji 👩‍👩‍👧", "1234567890 3.14159 -42",
    "def f(x):\n    return x ** 2\n", '{"json": [1, 2, {"a": null}]}', "<|endoftext|> is plain text here",
    "https://example.com/path?q=1&r=2#frag", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "'s 't 're 've 'm 'll 'd",
    "UPPER lower MiXeD", "  \n\n  \n", "a" * 5000, "word " * 1000,
]
TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def test_known_ids_with_the_offline_backend() -> None:
    for (name, text), ids in KNOWN_IDS.items():
        enc = tokens_mod.load_encoder(name, "bpe-openai")
        assert enc.backend == "bpe-openai" and enc.exact
        assert enc.encode(text) == ids
        assert enc.count(text) == len(ids)


def test_the_default_encoder_is_exact_and_cached() -> None:
    enc = get_encoder("o200k_base")
    assert enc.backend in ("tiktoken", "bpe-openai") and enc.exact
    assert enc.encode("hello world") == [24912, 2375]
    assert get_encoder("o200k_base") is enc


@pytest.fixture
def tiktoken_offline(tmp_path, monkeypatch):
    """Real tiktoken, offline: its cache seeded with bpe-openai's bundled rank files, which tiktoken
    itself checks against its pinned sha256, so the encodings are byte-for-byte the published ones."""
    import tiktoken
    import tiktoken.registry

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    for name in ("o200k_base", "cl100k_base"):
        data = gzip.decompress(importlib.resources.files("bpe_openai.data").joinpath(f"{name}.tiktoken.gz").read_bytes())
        key = hashlib.sha1(TIKTOKEN_URL.format(name).encode()).hexdigest()
        (tmp_path / key).write_bytes(data)
        monkeypatch.delitem(tiktoken.registry.ENCODINGS, name, raising=False)
    return tiktoken


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_tiktoken_and_bpe_openai_agree_on_a_corpus(tiktoken_offline, name: str) -> None:
    tt = tokens_mod.load_encoder(name, "tiktoken")
    bpe = tokens_mod.load_encoder(name, "bpe-openai")
    assert (tt.backend, bpe.backend) == ("tiktoken", "bpe-openai")
    for text in CORPUS:
        assert bpe.encode(text) == tt.encode(text), text
        assert bpe.count(text) == tt.count(text) == len(tiktoken_offline.get_encoding(name).encode_ordinary(text))
    for (n, text), ids in KNOWN_IDS.items():
        if n == name:
            assert tt.encode(text) == ids


def test_estimate_backend_is_labelled_inexact(monkeypatch) -> None:
    enc = tokens_mod.load_encoder("o200k_base", "estimate")
    assert not enc.exact and enc.count("abcdefgh") == 2
    monkeypatch.setenv("FTSYNC_TOKENIZER", "estimate")
    tokens_mod._cached.cache_clear()
    try:
        report = inspect(b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
        assert report.tokens["exact"] is False and report.to_json()["tokens"]["exact"] is False
    finally:
        monkeypatch.delenv("FTSYNC_TOKENIZER")
        tokens_mod._cached.cache_clear()


def test_encoding_for_model() -> None:
    assert encoding_for_model("gpt-4o-mini").name == "o200k_base"
    assert encoding_for_model("gpt-4.1-nano-2025-04-14").name == "o200k_base"
    assert encoding_for_model("o4-mini").name == "o200k_base"
    assert encoding_for_model("gpt-3.5-turbo").name == "cl100k_base"
    assert encoding_for_model("babbage-002").name == "cl100k_base"
    assert encoding_for_model("ft:gpt-4o-mini-2024-07-18:acme::abc123").name == "o200k_base"
    assert count_tokens("hello world", "davinci-002") == 2


def test_lone_surrogates_and_long_text_count() -> None:
    enc = get_encoder("o200k_base")
    assert enc.count("a\ud800b") == enc.count("a\ufffdb")
    assert enc.count("x " * 600_000) > 500_000  # past the bpe-openai wrapper's 1M-character cap


def _tok(s: str, name: str = "o200k_base") -> int:
    return len(get_encoder(name).encode(s))


def test_chat_counting_rule() -> None:
    """3 per message + string values (+1 per name) + 3 per example; tool calls and tools as JSON."""
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    tools = [{"type": "function", "function": {"name": "f"}}]
    ex = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "name": "alice", "content": "Hi"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "assistant", "content": "It is 42.", "weight": 1},
        {"role": "assistant", "content": "ignored turn", "weight": 0},
    ], "tools": tools}
    j = lambda v: json.dumps(v, separators=(",", ":"))  # noqa: E731
    want = (3 + _tok("system") + _tok("Be brief.")
            + 3 + _tok("user") + _tok("alice") + 1 + _tok("Hi")
            + 3 + _tok("assistant") + _tok(j(calls))
            + 3 + _tok("tool") + _tok("c1") + _tok("42")
            + 3 + _tok("assistant") + _tok("It is 42.")
            + 3 + _tok("assistant") + _tok("ignored turn")
            + 3 + _tok(j(tools)))
    trained = _tok(j(calls)) + _tok("It is 42.")
    data = (json.dumps(ex) + "\n").encode()
    report = inspect(data, model="gpt-4o-mini")
    assert report.tokens["total"] == want
    assert report.tokens["assistant"] == trained
    assert report.stats["tokens_by_role"]["tools"] == _tok(j(tools))


def test_images_count_85_and_legacy_counts_prompt_plus_completion() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    ex = {"messages": [{"role": "user", "content": [{"type": "text", "text": "what?"}, part, part]},
                       {"role": "assistant", "content": "cats"}]}
    report = inspect((json.dumps(ex) + "\n").encode())
    assert report.tokens["total"] == 3 + _tok("user") + _tok("what?") + 170 + 3 + _tok("assistant") + _tok("cats") + 3
    assert report.stats["images"] == 2 and report.stats["examples_with_images"] == 1
    legacy = inspect(b'{"prompt": "Q: hi", "completion": " A: yo"}\n', model="babbage-002")
    assert legacy.tokens["total"] == _tok("Q: hi", "cl100k_base") + _tok(" A: yo", "cl100k_base")
    assert legacy.tokens["assistant"] == _tok(" A: yo", "cl100k_base")


def test_shared_encoder_keeps_no_user_text() -> None:
    inspect(b'{"messages": [{"role": "user", "content": "secret-user-text"}, {"role": "assistant", "content": "x"}]}\n')
    enc = get_encoder("o200k_base")
    assert not any(isinstance(v, dict) and v for v in vars(enc).values())
