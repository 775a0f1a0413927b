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
