"""Commands we print are safe to paste: run through a real shell, hostile folder names stay data."""

from __future__ import annotations

import subprocess

import pytest

from ftsync.wandb_offline import upload_command

HOSTILE = ["offline-run-$(touch PWNED)", "offline-run-`touch PWNED`", "offline-run-a;touch PWNED",
           "offline-run-it's", "offline-run-a b|touch PWNED"]


def run_as_pasted(command: str, cwd) -> list[str]:
    """Paste the command into bash with `wandb sync` swapped for a printer of its arguments."""
    assert command.startswith("wandb sync ")
    script = "printf '%s\\n' " + command[len("wandb sync "):]
    out = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_folder_name_is_quoted(tmp_path, name):
    folder = str(tmp_path / "wandb" / name)
    assert run_as_pasted(upload_command([folder]), tmp_path) == [folder]
    assert not (tmp_path / "PWNED").exists()


def test_many_folders_become_a_quoted_glob(tmp_path):
    base = tmp_path / "run $(touch PWNED) dir" / "wandb"
    folders = [base / f"offline-run-2026112{i}-ftjob-x{i}" for i in range(7)]
    for f in folders:
        f.mkdir(parents=True)
    command = upload_command([str(f) for f in folders])
    assert command.endswith("offline-run-*")
    assert run_as_pasted(command, tmp_path) == [str(f) for f in folders]  # the glob still expands
    assert not (tmp_path / "PWNED").exists()
