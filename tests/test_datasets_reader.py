"""The streaming reader: sources, line numbers, byte-level problems, chunk boundaries."""

from __future__ import annotations

import io
import json

import pytest

from ftsync.datasets import DatasetError, iter_lines
from ftsync.datasets import reader as reader_mod
from ftsync.datasets.codes import FindingLog
from ftsync.datasets.lineindex import LineIndex
from ftsync.datasets.reader import LineReader


def _summary(source) -> list[tuple[int, object, str | None]]:
    return [(r.line, r.value, r.finding.code if r.finding else None) for r in iter_lines(source)]


def test_bytes_path_and_file_like_agree(tmp_path) -> None:
    data = b'{"a": 1}\n{"a": 2}\n'
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    want = [(1, {"a": 1}, None), (2, {"a": 2}, None)]
    assert _summary(data) == _summary(path) == _summary(str(path)) == _summary(io.BytesIO(data)) == want
    assert _summary(bytearray(data)) == _summary(memoryview(data)) == want


def test_file_like_is_rewound_for_each_read() -> None:
    upload = io.BytesIO(b'{"a": 1}\n')
    assert _summary(upload) == _summary(upload) == [(1, {"a": 1}, None)]


def test_bom_crlf_blank_and_truncated() -> None:
    data = b'\xef\xbb\xbf{"a": 1}\r\n\r\n  \n{"a": 2}\r\n{"a": 3'
    assert _summary(data) == [(1, None, "utf8_bom"), (1, {"a": 1}, None), (2, None, "blank_line"),
                              (3, None, "blank_line"), (4, {"a": 2}, None), (5, None, "truncated_last_line")]


def test_valid_last_line_without_newline_is_fine() -> None:
    assert _summary(b'{"a": 1}\n{"a": 2}') == [(1, {"a": 1}, None), (2, {"a": 2}, None)]


def test_invalid_json_in_the_middle_is_not_truncation() -> None:
    assert _summary(b'{"a": \n{"a": 2}\n') == [(1, None, "invalid_json"), (2, {"a": 2}, None)]


def test_invalid_utf8_and_lone_surrogate_bytes() -> None:
    # \xed\xa0\x80 is a UTF-16 surrogate encoded as UTF-8: invalid UTF-8 (json.loads(bytes) would accept it).
    assert [c for *_, c in _summary(b'"\xff"\n"\xed\xa0\x80"\n')] == ["invalid_utf8", "invalid_utf8"]


def test_deep_nesting_and_nan_are_invalid_json() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert [c for *_, c in _summary(deep + b"\nNaN\n[Infinity]\n")] == ["invalid_json"] * 3


def test_lines_split_across_chunks(monkeypatch) -> None:
    monkeypatch.setattr(reader_mod, "CHUNK_BYTES", 7)
    lines = [{"i": i, "text": "é" * i} for i in range(30)]  # multi-byte characters straddle chunk edges
    data = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\r\n" for x in lines)
    assert [r.value for r in iter_lines(data)] == lines
    assert [r.line for r in iter_lines(data)] == list(range(1, 31))


def test_a_line_longer_than_many_chunks(monkeypatch) -> None:
    monkeypatch.setattr(reader_mod, "CHUNK_BYTES", 64)
    big = {"text": "x" * 10_000}
    data = b'{"a": 1}\n' + json.dumps(big).encode() + b'\n{"a": 2}'
    assert [r.value for r in iter_lines(data)] == [{"a": 1}, big, {"a": 2}]


def test_reads_in_chunks_not_whole_files() -> None:
    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            self.sizes.append(n)
            return b'{"a": 1}\n' * 10 if len(self.sizes) < 4 else b""

    s = Stream()
    assert len(list(iter_lines(s))) == 30
    assert all(0 < n <= reader_mod.CHUNK_BYTES for n in s.sizes)


def test_unreadable_sources_raise_one_line_dataset_errors(tmp_path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        list(iter_lines(tmp_path / "missing.jsonl"))
    with pytest.raises(DatasetError, match="directory"):
        list(iter_lines(tmp_path))
    with pytest.raises(DatasetError, match="binary mode"):
        list(iter_lines(io.StringIO('{"a": 1}\n')))
    with pytest.raises(DatasetError, match="cannot read a dataset"):
        list(iter_lines(42))  # type: ignore[arg-type]


def test_a_line_over_the_limit_is_one_finding_and_the_next_lines_still_count(monkeypatch) -> None:
    monkeypatch.setattr(reader_mod, "CHUNK_BYTES", 64)  # the long lines span many chunks
    long = b'"' + b"x" * 5_000 + b'"'
    data = b'{"a": 1}\n' + long + b'\n{"a": 2}\n' + long  # the last one also lacks its newline
    got = [(r.line, r.value, r.finding.code if r.finding else None) for r in iter_lines(data, max_line_bytes=1000)]
    assert got == [(1, {"a": 1}, None), (2, None, "line_too_large"), (3, {"a": 2}, None), (4, None, "line_too_large")]
    assert [r.value for r in iter_lines(data, max_line_bytes=10_000)] == [{"a": 1}, "x" * 5_000, {"a": 2}, "x" * 5_000]


def test_with_a_log_only_parsed_lines_come_out_and_every_problem_is_counted() -> None:
    data = b'\xef\xbb\xbf{"a": 1}\n\n\r\n \nnope\n"\xff"\n{"a": 2}\n' + b"\n" * 1000 + b'{"a": 3'
    log = FindingLog(keep=2)
    reader = LineReader(data, log=log)
    assert [(r.line, r.value, r.finding) for r in reader] == [(1, {"a": 1}, None), (7, {"a": 2}, None)]
    assert log.counts == {"utf8_bom": 1, "blank_line": 1003, "invalid_json": 1, "invalid_utf8": 1,
                          "truncated_last_line": 1}
    assert [(f.line, f.code) for f in log.kept if f.code == "blank_line"] == [(2, "blank_line"), (3, "blank_line")]
    assert log.truncated_codes == ["blank_line"] and reader.lines == 1008 and reader.bytes_read == len(data)
    # the same lines without a log: every problem is a Line of its own
    assert sum(1 for r in iter_lines(data) if r.finding) == sum(log.counts.values())


def test_line_index_is_a_first_line_map() -> None:
    index, plain = LineIndex(capacity=2), {}
    keys = [hash(str(i)) for i in range(5_000)] + [0, -1, 2**63 - 1, -(2**63)]
    for line, key in enumerate(keys + keys[::7], 1):  # every 7th key again: a duplicate
        assert index.setdefault(key, line) == plain.setdefault(key, line)
    assert len(index) == len(plain) and all(index.get(k) == v and k in index for k, v in plain.items())
    assert index.get(hash("absent")) is None and hash("absent") not in index
