"""`ftsync validate`, driven through its own register()/run() (cli.py wiring belongs to cli.py)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from ftsync.commands import validate
from ftsync.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE

DATA = Path(__file__).parent / "data" / "datasets"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ftsync")
    validate.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["validate", *map(str, argv)])
    return args.func(args)


def test_clean_file_exits_0_with_a_readable_report(capsys) -> None:
    assert run(DATA / "good_chat.jsonl", "--model", "gpt-4.1-mini") == EXIT_OK
    out = capsys.readouterr().out
    assert "good_chat.jsonl: chat, 11 examples" in out and "0 errors, 0 warnings" in out
    assert "exact via" in out and "on gpt-4.1-mini-2025-04-14" in out and "epochs" in out


def test_errors_exit_1_grouped_by_code_with_lines(capsys) -> None:
    assert run(DATA / "invalid_json.jsonl") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "error   invalid_json ×3 lines 3, 7, 9:" in out


def test_warnings_only_exit_0(capsys) -> None:
    assert run(DATA / "duplicate_example.jsonl") == EXIT_OK
    assert "warning duplicate_example ×2 lines 5, 10: same as line 2" in capsys.readouterr().out


def test_json_lines_one_object_per_file(capsys) -> None:
    assert run(DATA / "good_legacy.jsonl", DATA / "missing_content.jsonl", "--json") == EXIT_FAILED
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["format"] for o in objs] == ["legacy", "chat"]
    good, bad = objs
    assert good["errors"] == [] and good["warnings"] == [] and good["examples"] == 10
    assert good["tokens"]["exact"] is True and good["n_epochs"] == 10 and good["estimated_cost_usd"] > 0
    assert [(e["line"], e["code"]) for e in bad["errors"]] == [(1, "missing_content"), (3, "missing_content"),
                                                               (5, "missing_content")]
    assert set(bad["errors"][0]) == {"line", "code", "message"}


@pytest.mark.parametrize(("argv", "message"), [
    (["nope.jsonl"], "no such file: nope.jsonl"),
    ([str(DATA)], "not a file"),
    ([str(DATA / "good_chat.jsonl"), "--model", "gpt-9"], "unknown base model 'gpt-9'"),
    ([str(DATA / "good_chat.jsonl"), "--format", "essay"], "unknown format 'essay'"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv: list[str], message: str) -> None:
    assert run(*argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("ftsync validate: ")


def test_two_files_one_named_like_validation_reports_overlap(tmp_path, capsys) -> None:
    train, val = tmp_path / "train.jsonl", tmp_path / "support_valid.jsonl"
    shutil.copy(DATA / "validation_overlap.jsonl", train)
    shutil.copy(DATA / "validation_overlap.valid.jsonl", val)
    assert run(val, train, "--json") == EXIT_OK  # warnings only
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(o["path"]).name for o in objs] == ["train.jsonl", "support_valid.jsonl"]
    assert [(w["line"], w["code"]) for w in objs[0]["warnings"]] == [(9, "validation_overlap"), (10, "validation_overlap")]
    assert objs[1]["warnings"] == []


def test_explicit_validation_option(capsys) -> None:
    rc = run(DATA / "validation_overlap.jsonl", "--validation", DATA / "validation_overlap.valid.jsonl")
    out = capsys.readouterr().out
    assert rc == EXIT_OK and "validation_overlap ×2 lines 9, 10" in out and "compared with validation file" in out


def test_two_files_without_a_validation_name_are_independent(tmp_path, capsys) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    shutil.copy(DATA / "validation_overlap.jsonl", a)
    shutil.copy(DATA / "validation_overlap.valid.jsonl", b)
    assert run(a, b, "--json") == EXIT_OK
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(o["path"]).name for o in objs] == ["a.jsonl", "b.jsonl"]
    assert all(o["warnings"] == [] for o in objs)


def test_looks_like_validation() -> None:
    assert validate._looks_like_validation("data/valid.jsonl")
    assert validate._looks_like_validation("acme_val.jsonl")
    assert validate._looks_like_validation("eval-set.jsonl")
    assert not validate._looks_like_validation("interval_train.jsonl")
    assert not validate._looks_like_validation("train.jsonl")


def test_many_findings_of_a_code_are_counted_in_full_and_listed_in_part(tmp_path, capsys) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_bytes((DATA / "good_chat.jsonl").read_bytes() + b"\n" * 3000)
    assert run(path) == EXIT_OK  # warnings only
    out = capsys.readouterr().out
    assert "0 errors, 3000 warnings" in out and "blank_line ×3000 lines 12, 13, 14, 15, 16 (+2995 more):" in out
    assert run(path, "--json") == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"blank_line": 3000} and len(report["warnings"]) == 1000


def test_a_line_over_max_line_mb_is_an_error_not_a_crash(tmp_path, capsys) -> None:
    path = tmp_path / "big.jsonl"
    big = b'{"messages": [{"role": "user", "content": "%s"}, {"role": "assistant", "content": "y"}]}' % (b"x" * 20_000)
    path.write_bytes((DATA / "good_chat.jsonl").read_bytes() + big + b"\n")
    assert run(path) == EXIT_OK and "line_too_large" not in capsys.readouterr().out  # 32 MB by default
    assert run(path, "--max-line-mb", "0.01") == EXIT_FAILED
    out = capsys.readouterr().out
    assert f"line_too_large ×1 line 12: the line ({len(big):,} bytes) would take more than 10,000 bytes" in out
    for bad in ("nan", "inf", "0", "-1", "lots"):
        with pytest.raises(argparse.ArgumentTypeError):
            validate._megabytes(bad)
