"""`ftsync validate` (and the dashboard's upload) in bounded memory on any input.

Each slow test runs the real command line in a process of its own and reads that process's peak RSS
(run_validate), so nothing else the test session loaded is counted.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PEAK_MB = 150  # the whole process: interpreter, ftsync, and what the file makes it hold
HEAVY = ("openai", "wandb", "pandas", "numpy", "streamlit", "pyarrow", "tiktoken", "bpe_openai")


# Spawns the command from a fresh interpreter and reports its peak RSS: on Linux a child's ru_maxrss
# starts at its parent's peak (kept across exec), so spawned straight from pytest (hundreds of MB
# after the dashboard tests) it would count pytest's memory too.
_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_validate(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """(exit code, stdout, peak RSS in MB) of `python -m ftsync.cli validate ARGS`."""
    cmd = [sys.executable, "-m", "ftsync.cli", "validate", *map(str, args)]
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result"
        done = subprocess.run([sys.executable, "-c", _MEASURE, str(result), *cmd], capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=600, check=False)
        assert done.stderr == "", done.stderr
        code, max_rss_kib = map(int, result.read_text().split())
    return code, done.stdout, max_rss_kib / 1024


def validate_in_process(*args: str | Path, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """(stdout, the heavy modules imported) of `ftsync validate ARGS` in a fresh interpreter."""
    code = (f"import sys; from ftsync.cli import main; main(['validate', *{list(map(str, args))!r}]); "
            f"print('MODULES', *[m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)
    assert done.stderr == "", done.stderr
    out, modules = done.stdout.rsplit("MODULES", 1)
    return out, modules.split()


def _write(path: Path, data: bytes, times: int) -> Path:
    with open(path, "wb") as f:
        f.writelines(itertools.repeat(data, times))
    return path


def test_validate_imports_neither_the_sdks_nor_pandas(tmp_path):
    """Proves: `ftsync validate` imports only its own command (without the lazy imports in cli.py:
    openai, through the sync and jobs commands' settings) and no pandas/numpy (only the preview needs them)."""
    _, loaded = validate_in_process(_write(tmp_path / "junk.jsonl", b"x\n", 1000))
    assert not {"openai", "wandb", "pandas", "numpy", "streamlit", "pyarrow"} & set(loaded), loaded


def test_validate_loads_an_encoding_only_for_text_to_count(tmp_path):
    """Proves: no encoding is loaded for files without text to count (without LazyCounter: bpe-openai's
    o200k_base, ~140 MB, on every run), and one is for examples, whose counts stay exact."""
    bpe = {"FTSYNC_TOKENIZER": "bpe-openai"}  # the offline backend: no download attempt
    junk = _write(tmp_path / "junk.jsonl", b"x\n", 1000)
    objects = _write(tmp_path / "objects.jsonl", b'{"messages": "nope"}\n', 20)  # examples, but no text
    assert validate_in_process(junk, objects, env=bpe)[1] == []
    chat = _write(tmp_path / "chat.jsonl", b'{"messages": [{"role": "user", "content": "Hi"}, '
                                           b'{"role": "assistant", "content": "Hello there"}]}\n', 10)
    out, loaded = validate_in_process(chat, "--json", env=bpe)
    tokens = json.loads(out)["tokens"]
    assert loaded == ["bpe_openai"] and tokens["exact"] is True and tokens["total"] > 10 * 3


@pytest.mark.slow
def test_validate_on_4_mb_of_junk_lines(tmp_path):
    """Proves: 2,000,000 junk lines stay under PEAK_MB, every one counted (without the lazy encoding:
    166 MB, ~140 MB of it an encoding for a file with nothing to count; 197 MB before this work)."""
    code, out, peak = run_validate(_write(tmp_path / "junk.jsonl", b"x\n", 2_000_000))
    assert code == 1 and "invalid_json ×2000000 lines 1, 2, 3, 4, 5 (+1999995 more)" in out
    assert peak < PEAK_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.slow
def test_validate_on_20_mb_of_blank_lines(tmp_path):
    """Proves: 20,000,000 blank lines are counted exactly but stored only up to the cap per code
    (without FindingLog's cap: a Finding per line, 9.6 GB)."""
    code, out, peak = run_validate(_write(tmp_path / "blank.jsonl", b"\n" * 1_000_000, 20), "--json")
    assert peak < PEAK_MB, f"peak RSS {peak:.0f} MB"
    report = json.loads(out)
    assert code == 1 and report["counts"]["blank_line"] == 20_000_000 and len(report["warnings"]) == 1000


@pytest.mark.slow
def test_validate_on_one_50_mb_line_without_a_newline(tmp_path):
    """Proves: a line over max_line_bytes is reported as line_too_large and never held whole (without
    the limit in _PendingLine: its 50 MB of pieces and their join, ~95 MB more than for a tiny file)."""
    line = _write(tmp_path / "one-line.jsonl", b"a" * 1_000_000, 50)
    code, out, peak = run_validate(line)
    assert code == 1 and "line_too_large ×1 line 1: the line (50.0 MB)" in out
    assert peak < PEAK_MB, f"peak RSS {peak:.0f} MB"
    _, _, baseline = run_validate(_write(tmp_path / "tiny.jsonl", b"x\n", 1))
    code, out, peak = run_validate(line, "--max-line-mb", "8")
    assert code == 1 and "more than 8.0 MB of memory to parse" in out
    assert peak - baseline < 25, f"{peak - baseline:.0f} MB more than for a 2-byte file"


@pytest.mark.slow
def test_validate_on_4_mb_of_empty_objects(tmp_path):
    """Proves: format detection holds a bounded look-ahead of lines that parse but are no example
    (without its bounds, READ_AHEAD_RECORDS and READ_AHEAD_BYTES: all 1,333,333 `{}` lines, 313 MB)."""
    code, out, peak = run_validate(_write(tmp_path / "objects.jsonl", b"{}\n", 1_333_333))
    assert code == 1 and "unrecognized_example ×1333333 lines 1, 2, 3, 4, 5 (+1333328 more)" in out
    assert peak < PEAK_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.slow
def test_validate_on_a_million_distinct_invalid_examples(tmp_path):
    """Proves: duplicate detection remembers a million distinct examples in a LineIndex (~25 MB; without
    it, a dict: ~110 MB, 159 MB in all), and each example's finding is counted, stored up to the cap."""
    path = tmp_path / "invalid.jsonl"
    with open(path, "wb") as f:
        f.writelines(b'{"messages": "nope", "n": %d}\n' % i for i in range(1_000_000))
    code, out, peak = run_validate(path, "--json")
    assert peak < 120, f"peak RSS {peak:.0f} MB"
    report = json.loads(out)
    assert code == 1 and report["examples"] == 1_000_000 and report["counts"]["missing_messages_list"] == 1_000_000
    assert len(report["errors"]) == 1000


@pytest.mark.slow
def test_dashboard_upload_of_blank_lines_reports_exact_counts():
    """Proves: the Datasets page takes an upload through the same capped inspection and says how many
    problems there are in all (without error_count/warning_count: '1,000 warning(s)', the listed ones)."""
    from ..apptest import new_app

    at = new_app()
    at.run()
    at.switch_page("pages/4_Datasets.py").run()
    at.radio(key="datasets_source").set_value("Upload a JSONL file").run()
    at.file_uploader(key="datasets_upload").upload("blank.jsonl", b"\n" * 200_000).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["1 error and 200,000 warnings: OpenAI would reject this file."]
    assert len(at.dataframe[0].value) == 1001  # the first 1,000 blank lines and too_few_examples
    assert any(c.value == "Only the first 1,000 findings of a code are listed: blank_line (and 199,000 more)."
               for c in at.caption)
