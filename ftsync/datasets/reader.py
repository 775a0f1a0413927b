"""Streaming JSONL reader: constant memory, binary chunks, one result per line.

Lines are split on b"\\n" in the raw bytes (0x0A never occurs inside a multi-byte UTF-8 sequence),
so a chunk boundary can never corrupt a character and nothing is decoded twice.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple, Union

from .codes import DatasetError, Finding, finding

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]

CHUNK_BYTES = 1 << 20
BOM = b"\xef\xbb\xbf"


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


def _parse(n: int, raw: bytes, last: bool) -> Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(n, None, finding(n, "invalid_utf8", f"invalid UTF-8 at byte {exc.start + 1} of the line"), raw)
    try:
        return Line(n, _decode(text), None, raw)
    except RecursionError:
        return Line(n, None, finding(n, "invalid_json", "invalid JSON: nested too deeply"), raw)
    except ValueError as exc:  # JSONDecodeError, NaN, ints too long to convert
        if last:
            return Line(n, None, finding(n, "truncated_last_line",
                                         "the last line ends without a newline and is not valid JSON: truncated file?"), raw)
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        col = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        return Line(n, None, finding(n, "invalid_json", f"invalid JSON: {msg}{col}"), raw)


def iter_lines(source: Source) -> Iterator[Line]:
    """Yield a `Line` per line of a JSONL source, with 1-based line numbers.

    `source` is a path (str/Path), bytes, or a binary file-like object. Memory stays constant:
    only one chunk plus one partial line is held. Blank lines and a leading BOM yield a warning
    `Line` (value None); undecodable lines yield an error `Line`. Never raises for bad content,
    only `DatasetError` for an unreadable source.
    """
    return iter(LineReader(source))


class LineReader:
    """`iter_lines` with a byte count, for reports."""

    def __init__(self, source: Source):
        self.source = source
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Line]:
        n = 0
        pending: list[bytes] = []  # the unfinished last line, in pieces
        first = True
        with open_source(self.source) as f:
            for chunk in _chunks(f):
                self.bytes_read += len(chunk)
                if first:
                    first = False
                    if chunk.startswith(BOM):
                        chunk = chunk[3:]
                        yield Line(1, None, finding(1, "utf8_bom"), b"")
                if b"\n" not in chunk:  # inside a long line: join once, not per chunk (quadratic)
                    pending.append(chunk)
                    continue
                if pending:
                    chunk = b"".join([*pending, chunk])
                    pending.clear()
                parts = chunk.split(b"\n")
                pending.append(parts.pop())
                for raw in parts:
                    n += 1
                    if raw.endswith(b"\r"):
                        raw = raw[:-1]
                    if not raw or raw.isspace():
                        yield Line(n, None, finding(n, "blank_line"), raw)
                        continue
                    yield _parse(n, raw, False)
        rest = b"".join(pending)
        if rest:  # the last line had no trailing newline
            n += 1
            raw = rest[:-1] if rest.endswith(b"\r") else rest
            if raw.isspace() or not raw:
                yield Line(n, None, finding(n, "blank_line"), raw)
            else:
                yield _parse(n, raw, True)
