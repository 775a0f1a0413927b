"""Streaming JSONL reader: bounded memory, binary chunks, one result per line.

Lines are split on b"\\n" in the raw bytes (0x0A never occurs inside a multi-byte UTF-8 sequence),
so a chunk boundary can never corrupt a character and nothing is decoded twice.

Memory is bounded on any input: one chunk plus one line is held, and a line that would cost more
than `max_line_bytes` to hold or parse is skipped as `line_too_large` (never held whole).
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple, Union

from .codes import DatasetError, Finding, FindingLog, finding

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]

# Splitting a chunk makes an object per line (~16 bytes of memory per byte of `{}` lines): 256 KiB
# keeps that to a few MB, and reads stay large enough to cost nothing per line.
CHUNK_BYTES = 1 << 18
BOM = b"\xef\xbb\xbf"
# The most one line may cost to hold and parse (see parse_cost). A line is one example: 32 MB fits two
# images inline at OpenAI's 10 MB per image (base64), and is far beyond any text example (65,536 tokens).
MAX_LINE_BYTES = 32_000_000
# The most one parsed JSON value costs in Python, with its pointer: `[]` is 2 bytes on disk but a
# 56-byte list in memory, so a line's length alone does not bound what parsing it takes.
VALUE_BYTES = 72


class Line(NamedTuple):
    """One non-empty line: its parsed JSON value, or a finding (then value is None).

    `raw` is the line's bytes without the newline/CR/BOM; it identifies duplicates cheaply.
    """

    line: int
    value: Any
    finding: Finding | None
    raw: bytes


def _reject_constant(name: str) -> Any:
    # json accepts NaN/Infinity; OpenAI's parser (and the JSON spec) does not.
    raise ValueError(f"{name} is not valid JSON")


_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


def source_name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(getattr(source, "name", None) or "<stream>")


@contextmanager
def open_source(source: Source) -> Iterator[IO[bytes]]:
    """A binary stream positioned at the start of the data. File-likes are rewound when they can be
    (a Streamlit upload is read several times: once to inspect, again for each table page)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise DatasetError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise DatasetError(f"is a directory, not a JSONL file: {path}") from None
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
        with f:
            yield f
        return
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)  # BytesIO shares an immutable bytes buffer: no copy
        return
    if not hasattr(source, "read"):
        raise DatasetError(f"cannot read a dataset from a {type(source).__name__}; give a path, bytes or a binary file")
    seekable = getattr(source, "seekable", None)
    if seekable() if callable(seekable) else hasattr(source, "seek"):
        try:
            source.seek(0)
        except (OSError, ValueError):
            pass
    yield source


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = f.read(CHUNK_BYTES)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise DatasetError("the file was opened in text mode; open it in binary mode ('rb')")
        yield bytes(chunk)


def parse_cost(raw: bytes) -> int:
    """About the most memory parsing `raw` takes: its bytes, plus VALUE_BYTES per value it can hold
    (one follows each '[', '{' and ','), so `[[],[],...]` counts as what it becomes, not its length."""
    return len(raw) + VALUE_BYTES * (raw.count(b"[") + raw.count(b"{") + raw.count(b","))


def too_large(raw: bytes, limit: int) -> bool:
    """Whether holding and parsing `raw` may cost more than `limit` bytes."""
    # A line this short stays under the limit even if every byte opened a value: no need to count.
    return len(raw) * (VALUE_BYTES + 1) > limit and (len(raw) > limit or parse_cost(raw) > limit)


class _PendingLine:
    """The line begun in earlier chunks: its pieces, or once it is over `limit` only its size."""

    def __init__(self, limit: int):
        self.limit = limit
        self.pieces: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size <= self.limit:
            self.pieces.append(piece)
        else:  # too large: drop what is held, count the rest
            self.pieces.clear()

    def take(self) -> bytes | int:
        """The finished line, joined once (per chunk would be quadratic), or its size if too large."""
        line = b"".join(self.pieces) if self.size <= self.limit else self.size
        self.pieces, self.size = [], 0
        return line


def _batches(chunks: Iterable[bytes], limit: int) -> Iterator[tuple[list[bytes | int], bool]]:
    """Lines without their newline, a batch per chunk, and whether the batch is the unterminated last
    line. A line longer than `limit` comes as its size (an int): it is never held whole."""
    pending = _PendingLine(limit)
    for chunk in chunks:
        end = chunk.find(b"\n")
        if end < 0:  # inside a long line
            pending.add(chunk)
            continue
        if pending.size:  # the line begun in earlier chunks ends here
            pending.add(chunk[:end])
            yield [pending.take()], False
            chunk = chunk[end + 1:]
        lines: list[bytes | int] = chunk.split(b"\n")  # type: ignore[assignment]
        pending.add(lines.pop())  # type: ignore[arg-type]
        yield lines, False
    if pending.size:
        yield [pending.take()], True


def _json_message(exc: ValueError) -> str:
    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)  # JSONDecodeError, NaN, huge ints
    col = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
    return f"invalid JSON: {msg}{col}"


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def iter_lines(source: Source, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Yield a `Line` per line of a JSONL source, with 1-based line numbers.

    `source` is a path (str/Path), bytes, or a binary file-like object. Memory stays bounded:
    only one chunk plus one line is held. Blank lines and a leading BOM yield a warning `Line`
    (value None); undecodable lines, and lines over `max_line_bytes`, yield an error `Line`.
    Never raises for bad content, only `DatasetError` for an unreadable source.
    """
    return iter(LineReader(source, max_line_bytes=max_line_bytes))


class LineReader:
    """`iter_lines`, with a byte and line count for reports.

    With a `log`, problems go to the log (counted exactly, stored up to its cap) and only the lines
    that parse are yielded: a file of millions of bad lines then costs no object per line.
    """

    def __init__(self, source: Source, *, log: FindingLog | None = None, max_line_bytes: int = MAX_LINE_BYTES):
        self.source = source
        self.log = log
        self.max_line_bytes = max_line_bytes
        self.bytes_read = 0
        self.lines = 0

    def __iter__(self) -> Iterator[Line]:
        self.bytes_read = self.lines = 0
        with open_source(self.source) as f:
            chunks = self._counted(_chunks(f))
            first = next(chunks, b"")
            if first.startswith(BOM):
                first = first[3:]
                bom = self._problem(1, "utf8_bom")
                if bom:
                    yield bom
            n, log = 0, self.log
            for batch, last in _batches(itertools.chain([first], chunks), self.max_line_bytes):
                for raw in batch:
                    n += 1
                    if not raw and log is not None:  # the commonest junk: logged without a call per line
                        log.add(n, "blank_line")
                        continue
                    line = self._line(n, raw, last)
                    if line is not None:
                        yield line
                self.lines = n

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.bytes_read += len(chunk)
            yield chunk

    def _line(self, n: int, raw: bytes | int, last: bool) -> Line | None:
        """The Line for one line's bytes (or size, when too large); None when the log took it."""
        if not raw:
            return self._problem(n, "blank_line")
        if isinstance(raw, int) or too_large(raw, self.max_line_bytes):
            size = raw if isinstance(raw, int) else len(raw)
            return self._problem(n, "line_too_large", f"the line ({_size(size)}) would take more than "
                                                      f"{_size(self.max_line_bytes)} of memory to parse; skipped")
        if raw[-1] == 13:  # CRLF
            raw = raw[:-1]
        if not raw or raw.isspace():
            return self._problem(n, "blank_line", raw=raw)
        return self._parse(n, raw, last)

    def _parse(self, n: int, raw: bytes, last: bool) -> Line | None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._problem(n, "invalid_utf8", f"invalid UTF-8 at byte {exc.start + 1} of the line", raw)
        try:
            return Line(n, _decode(text), None, raw)
        except RecursionError:
            return self._problem(n, "invalid_json", "invalid JSON: nested too deeply", raw)
        except ValueError as exc:
            if last:
                return self._problem(n, "truncated_last_line",
                                     "the last line ends without a newline and is not valid JSON: truncated file?", raw)
            return self._problem(n, "invalid_json", _json_message(exc), raw)

    def _problem(self, n: int, code: str, message: str | None = None, raw: bytes = b"") -> Line | None:
        """A finding as a Line to yield, or None once it is in the log."""
        if self.log is None:
            return Line(n, None, finding(n, code, message), raw)
        self.log.add(n, code, message)
        return None
