"""The Connect page verifies both keys as they are saved, online, against the W&B test backend."""

from __future__ import annotations

import pytest
import streamlit as st

from ftsync.emulator import Emulator

from ..apptest import LOCAL_ALLOWED, new_app, shown
from .conftest import KEY


@pytest.fixture(autouse=True)
def _isolated(online_env):
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def save_keys(at, openai_key: str, base_url: str, wandb_key: str) -> None:
    at.switch_page("pages/1_Connect.py").run()
    at.text_input(key="connect_openai_key").set_value(openai_key)
    at.text_input(key="connect_base_url").set_value(base_url)
    at.text_input(key="connect_wandb_key").set_value(wandb_key)
    at.button[0].click().run()


@pytest.mark.parametrize("wandb_key,verdict", [(KEY, "connected to"), ("0" * 40, "rejected the API key"),
                                               ("short", "malformed")])
def test_saving_verifies_the_wandb_key(backend, wandb_key, verdict):
    with Emulator("demo", api_key="sk-dash") as emu:
        at = new_app(secrets={**LOCAL_ALLOWED, "wandb_base_url": backend.base_url})
        at.run()
        save_keys(at, "sk-dash", emu.base_url, wandb_key)
        assert not at.exception
        messages = [shown(m) for m in (*at.success, *at.error)]
        assert any(m.startswith("OpenAI: connected") for m in messages), messages
        [wandb_line] = [m for m in messages if m.startswith("W&B: ")]
        assert verdict in wandb_line
        sidebar_errors = [shown(e) for e in at.sidebar.error]
        assert (verdict == "connected to") == (not sidebar_errors)  # a refused key is never shown as connected
        assert wandb_key not in repr(at._tree)


def test_a_visitor_without_a_wandb_key_never_gets_the_servers_own(backend, monkeypatch, tmp_path):
    """The server process has W&B credentials of its own (env and netrc): a visitor's syncs stay offline."""
    from ..apptest import sync_first_succeeded

    netrc = tmp_path / "server-netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login ops\n  password {KEY}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    monkeypatch.setenv("WANDB_BASE_URL", backend.base_url)
    with Emulator("demo", api_key="sk-visitor") as emu:
        at = new_app({"openai_api_key": "sk-visitor", "openai_base_url": emu.base_url})
        job_id = sync_first_succeeded(at)
        assert "W&B offline" in " ".join(shown(c) for c in at.sidebar.caption)
        outcome = at.session_state["ftsync_sync_tasks"][-1].outcomes[job_id]
        assert outcome.outcome == "synced" and "offline-run-" in outcome.run_path
    assert backend.requests == []
