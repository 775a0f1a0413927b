"""The dashboard pages hold no business logic: no OpenAI or W&B call outside ftsync."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
FORBIDDEN = {"openai", "wandb", "httpx", "httpx2", "sqlite3", "requests"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_page_imports_no_service_sdk(script):
    tree = ast.parse(script.read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not modules & FORBIDDEN, f"{script.name} imports {modules & FORBIDDEN}: that belongs in ftsync"
    assert len(script.read_text().splitlines()) < 150, f"{script.name} is growing logic; move it into ftsync"


def test_there_is_a_page_per_dashboard_area():
    assert [p.stem for p in SCRIPTS[1:]] == ["1_Connect", "2_Jobs", "3_Metrics", "4_Datasets", "5_History", "6_Models"]
