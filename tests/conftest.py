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
