"""Exact token counts with OpenAI's encodings, offline.

Backends, tried in order (override with FTSYNC_TOKENIZER=tiktoken|bpe-openai|estimate):
1. tiktoken: exact, but `get_encoding` downloads its rank files on first use (fails offline, and
   has no timeout, so the attempt runs in a thread and is abandoned after TIKTOKEN_TIMEOUT seconds);
2. bpe-openai: bundles cl100k_base/o200k_base, same ids as tiktoken, and no network;
3. an estimate of ~4 characters per token, reported with `exact=False`.

Encoders are process-wide and read-only (no user data), so they are cached for every caller; the
cache of recurring strings is per call (`Encoder.counter()`).

Counting rule for one chat example (OpenAI cookbook `num_tokens_from_messages`, extended):
  3 per message + the tokens of each string value of the message (role, content, name, refusal,
  tool_call_id...) + 1 more when the message has a name; list content counts each text part, and
  each image as 85 tokens (the `detail: low` price; a lower bound for high detail); tool_calls and
  function_call count as their compact JSON text; non-string values such as `weight` count nothing
  (the cookbook crashes on them); + 3 per example; + the compact JSON text of `tools`/`functions`.
Trained (assistant) tokens: the content, tool calls and refusal of assistant messages whose weight
is not 0, without the per-message overhead (the cookbook's `num_assistant_tokens_from_messages`).
Text is encoded as ordinary text: a literal "<|endoftext|>" in user data counts as its characters.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from .codes import DatasetError
from .prices import resolve_model

ENCODINGS = ("o200k_base", "cl100k_base")
BACKENDS = ("tiktoken", "bpe-openai", "estimate")
TIKTOKEN_TIMEOUT = 10.0
IMAGE_TOKENS = 85
PER_MESSAGE, PER_NAME, PER_EXAMPLE = 3, 1, 3
# Strings that recur across examples (system prompts, tool schemas) are counted once; the cache is
# bounded so memory stays constant on any file.
_CACHE_MAX, _CACHE_MAX_CHARS = 4096, 4096


class Counter(Protocol):
    """Anything that counts tokens: an Encoder or its per-call CachingCounter."""

    def count(self, text: str) -> int: ...


class Encoder:
    """`count(text)` and `encode(text)` for one encoding, with the backend that does it.

    Shared by the whole process and holds no user data; `counter()` gives a per-call counter
    with a cache of recurring strings that dies with the call.
    """

    def __init__(self, name: str, backend: str, encode: Callable[[str], list[int]] | None,
                 count: Callable[[str], int] | None = None):
        self.name, self.backend = name, backend
        self.exact = backend != "estimate"
        self._encode = encode
        self._count = count or (lambda text: len(encode(text)))  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<Encoder {self.name} via {self.backend}>"

    def encode(self, text: str) -> list[int]:
        if self._encode is None:
            raise DatasetError("token ids need tiktoken or bpe-openai; only an estimate is available")
        return self._encode(_clean(text))

    def count(self, text: str) -> int:
        if not text:
            return 0
        try:
            return self._count(text)
        except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes: count as U+FFFD
            return self._count(_clean(text))

    def counter(self) -> CachingCounter:
        return CachingCounter(self)


class CachingCounter:
    """`count` with a bounded cache of recurring strings (system prompts, roles, tool schemas), for
    one file's pass. Per call, so one user's text never lives in a process-wide object."""

    def __init__(self, enc: Encoder):
        self.name, self.backend, self.exact = enc.name, enc.backend, enc.exact
        self._enc = enc
        self._cache: dict[str, int] = {}

    def count(self, text: str) -> int:
        if len(text) > _CACHE_MAX_CHARS:
            return self._enc.count(text)
        hit = self._cache.get(text)
        if hit is None:
            hit = self._enc.count(text)
            if len(self._cache) >= _CACHE_MAX:  # full of one-off strings: start over, recurring ones come back
                self._cache.clear()
            self._cache[text] = hit
        return hit


class LazyCounter:
    """A CachingCounter for the encoding `name`, loaded on the first text there is to count.

    An encoding costs ~140 MB (bpe-openai's o200k_base): a file with no text to count (junk or blank
    lines, objects that are not examples) never pays for it. Until then nothing was estimated, so
    the counts (zero text tokens) are exact, and `backend` is "".
    """

    def __init__(self, name: str):
        self.name = name
        self._counter: CachingCounter | None = None

    @property
    def backend(self) -> str:
        return self._counter.backend if self._counter else ""

    @property
    def exact(self) -> bool:
        return self._counter.exact if self._counter else True

    def count(self, text: str) -> int:
        """Loads the encoding on the first text; later calls go straight to its counter."""
        if not text:
            return 0
        self._counter = get_encoder(self.name).counter()
        self.count = self._counter.count  # type: ignore[method-assign]  # runs per string: skip this frame
        return self._counter.count(text)


def _clean(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _tiktoken(name: str) -> Encoder:
    import tiktoken

    box: dict[str, Any] = {}

    def load() -> None:
        try:
            box["enc"] = tiktoken.get_encoding(name)
        except BaseException as exc:  # noqa: BLE001 - any failure means "not available"
            box["error"] = exc

    t = threading.Thread(target=load, daemon=True, name=f"tiktoken-{name}")
    t.start()
    t.join(TIKTOKEN_TIMEOUT)
    if "enc" not in box:
        raise RuntimeError(f"tiktoken cannot load {name}: {box.get('error', 'timed out')}")
    enc = box["enc"]
    return Encoder(name, "tiktoken", enc.encode_ordinary)


def _bpe_openai(name: str) -> Encoder:
    with warnings.catch_warnings():  # bpe-openai 0.1.4 uses a deprecated importlib.resources call
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        enc = bpe_openai.get_encoding(name)
    # The Rust tokenizer behind the tiktoken-style wrapper counts without building id lists and
    # without the wrapper's per-call overhead and 1M-character cap; fall back to the public API.
    raw = getattr(enc, "_backend", None)
    if raw is not None and callable(getattr(raw, "count", None)) and callable(getattr(raw, "encode", None)):
        return Encoder(name, "bpe-openai", lambda s: list(raw.encode(s)), raw.count)
    return Encoder(name, "bpe-openai", enc.encode_ordinary)


def _estimate(name: str) -> Encoder:
    return Encoder(name, "estimate", None, lambda text: (len(text) + 3) // 4)


_LOADERS = {"tiktoken": _tiktoken, "bpe-openai": _bpe_openai, "estimate": _estimate}


def load_encoder(name: str, backend: str) -> Encoder:
    """A fresh encoder from one backend (raises if that backend cannot load the encoding)."""
    if name not in ENCODINGS:
        raise DatasetError(f"unknown encoding {name!r}; known: {', '.join(ENCODINGS)}")
    if backend not in _LOADERS:
        raise DatasetError(f"unknown tokenizer backend {backend!r}; known: {', '.join(BACKENDS)}")
    return _LOADERS[backend](name)


_lock = threading.Lock()


@lru_cache(maxsize=None)
def _cached(name: str, order: tuple[str, ...]) -> Encoder:
    for backend in order:
        try:
            return load_encoder(name, backend)
        except DatasetError:
            raise
        except Exception:  # noqa: BLE001 - try the next backend
            continue
    return _estimate(name)


def get_encoder(name: str = "o200k_base") -> Encoder:
    """The process-wide encoder for an encoding name, from the best backend that works."""
    forced = os.environ.get("FTSYNC_TOKENIZER", "auto").strip().lower()
    order = BACKENDS if forced in ("", "auto") else (forced,)
    if forced not in ("", "auto") and forced not in BACKENDS:
        raise DatasetError(f"FTSYNC_TOKENIZER={forced!r}; use one of auto, {', '.join(BACKENDS)}")
    with _lock:  # one load per encoding even when server threads race
        return _cached(name, order)


def encoding_for_model(model: str) -> Encoder:
    """The encoder for a base model (o200k_base for gpt-4o/4.1/o-series, cl100k_base for gpt-3.5/babbage/davinci)."""
    if model in ENCODINGS:
        return get_encoder(model)
    return get_encoder(resolve_model(model).encoding)


def count_tokens(text: str, model: str = "gpt-4o-mini-2024-07-18") -> int:
    """Tokens in a plain string for a model or encoding name."""
    return encoding_for_model(model).count(text)


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def content_tokens(enc: Counter, content: Any) -> tuple[int, int]:
    """(tokens, images) of a message's content: a string, or a list of text/image parts."""
    if isinstance(content, str):
        return enc.count(content), 0
    if not isinstance(content, list):
        return 0, 0
    n = images = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "image_url":
            images += 1
            n += IMAGE_TOKENS
        else:
            text = part.get("text", part.get("refusal"))
            if isinstance(text, str):
                n += enc.count(text)
    return n, images


def message_tokens(enc: Counter, m: dict[str, Any]) -> tuple[int, int]:
    """(all tokens incl. overhead, trained tokens) of one message; see the module docstring."""
    role = m.get("role")
    if len(m) == 2 and type(role) is str and type(m.get("content")) is str:  # the common shape, fast
        n = enc.count(m["content"])
        return PER_MESSAGE + enc.count(role) + n, n if role == "assistant" else 0
    total = PER_MESSAGE
    trained = 0
    assistant = role == "assistant"
    for key, value in m.items():
        if key == "content":
            n = content_tokens(enc, value)[0]
        elif key in ("tool_calls", "function_call"):
            n = enc.count(_json_text(value)) if value is not None else 0
        elif isinstance(value, str):
            n = enc.count(value)
            if key == "name":
                total += PER_NAME
        else:
            continue
        total += n
        if assistant and key in ("content", "tool_calls", "function_call", "refusal"):
            trained += n
    if assistant and m.get("weight", 1) == 0:
        trained = 0
    return total, trained


def tools_tokens(enc: Counter, example: dict[str, Any]) -> int:
    n = 0
    for key in ("tools", "functions"):
        value = example.get(key)
        if value:
            n += enc.count(_json_text(value))
    return n
