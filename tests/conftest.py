"""Shared fixtures: a real emulator on a free port, and real openai clients pointed at it."""

from __future__ import annotations

import pytest
from openai import OpenAI

from ftsync.emulator import Emulator

from .helpers import openai_client


@pytest.fixture(scope="session")
def demo() -> Emulator:
    """The demo workspace, shared read-only by the tests of a session."""
    with Emulator("demo") as emu:
        yield emu


@pytest.fixture
def fresh_demo() -> Emulator:
    """A demo workspace of one's own, for tests that change it; live jobs run 1,000x faster."""
    with Emulator("demo", speed=1000) as emu:
        yield emu


@pytest.fixture
def client(demo: Emulator) -> OpenAI:
    return openai_client(demo)


@pytest.fixture
def sync_env(monkeypatch, tmp_path):
    """A clean world for a sync: ledger, W&B offline folder and W&B's own caches in tmp_path, no keys."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "AZURE_OPENAI_ENDPOINT",
                "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION", "WANDB_API_KEY", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    paths = {name: tmp_path / name for name in ("home", "wandb", "wandb-data", "wandb-cache", "wandb-config")}
    for p in paths.values():
        p.mkdir()
    monkeypatch.setenv("FTSYNC_HOME", str(paths["home"]))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # never the developer's own `wandb login`
    monkeypatch.setenv("WANDB_DIR", str(paths["wandb"]))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DATA_DIR", str(paths["wandb-data"]))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(paths["wandb-cache"]))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(paths["wandb-config"]))
    return paths


class Clock:
    """A settable clock for emulated workspaces: live jobs move only when a test says so."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frozen_demo():
    """The demo workspace with its clock stopped (advance `emu.clock.now` to move live jobs)."""
    import time

    from ftsync.emulator import build_workspace

    clock = Clock(time.time())
    with Emulator(build_workspace("demo", clock=clock)) as emu:
        emu.clock = clock
        yield emu


@pytest.fixture
def fresh_caches(sync_env):
    """Streamlit's caches are process-wide (and AppTest sessions share one id): each dashboard test
    starts and ends with empty ones, in a clean FTSYNC_HOME."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
