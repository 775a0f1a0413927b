"""A saved key goes only to the endpoint it was saved with; a team key only to the team's endpoint.

The attack (issue #8): leave the key field empty (which keeps the saved key), change only the
Base URL to one's own server, Save, then Test connection.
"""

from __future__ import annotations

import pytest
import streamlit as st

from ftsync.connection import KEY_ENDPOINT, build_connection, endpoint_id
from ftsync.emulator import Emulator

from ..apptest import LOCAL_ALLOWED, new_app, shown
from .recorder import Recorder

TEAM_KEY = "sk-team-0123456789abcdef"


@pytest.fixture(autouse=True)
def _isolated(sync_env):
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def redirect_and_test(at, base_url: str) -> list[str]:
    """What the attacker does on the Connect page: new Base URL, key field left empty, Save, Test.
    Returns the warnings shown after Save. A disabled field is set as a crafted request would."""
    at.switch_page("pages/1_Connect.py").run()
    field = at.text_input(key="connect_base_url")
    field._value = base_url  # like set_value, without AppTest's refusal of disabled widgets
    at.button[0].click().run()  # the form's Save button
    warnings = [shown(w) for w in at.warning]
    at.button(key="connect_test").click().run()
    return warnings


def test_the_team_key_is_not_sent_to_a_visitors_server():
    with Emulator("demo", api_key=TEAM_KEY) as team, Recorder("127.0.0.1") as attacker:
        at = new_app(secrets={**LOCAL_ALLOWED, "openai_api_key": TEAM_KEY, "openai_base_url": team.base_url})
        at.run()
        assert any("33 fine-tuning jobs" in h.value for h in at.subheader)  # the team key works for its endpoint
        warnings = redirect_and_test(at, attacker.base_url)
        assert not at.exception
        assert not attacker.saw(TEAM_KEY) and not attacker.saw(TEAM_KEY[-8:])
        assert any("endpoint changed" in w for w in warnings)
        assert "openai_api_key" not in at.session_state["ftsync_inputs"]


def test_a_visitors_own_key_is_asked_again_when_the_endpoint_changes():
    with Emulator("demo", api_key="sk-mine-123") as mine, Recorder("127.0.0.1") as other:
        at = new_app({"openai_api_key": "sk-mine-123", "openai_base_url": mine.base_url})
        at.run()
        for field, value in (("connect_base_url", other.base_url), ("connect_org", "org-other"),
                             ("connect_project", "proj_other"), ("connect_azure", other.origin)):
            at = new_app({"openai_api_key": "sk-mine-123", "openai_base_url": mine.base_url})
            at.run()
            at.switch_page("pages/1_Connect.py").run()
            at.text_input(key=field).set_value(value)
            at.button[0].click().run()
            at.button(key="connect_test").click().run()
            assert "openai_api_key" not in at.session_state["ftsync_inputs"], field
        assert other.requests == []


def test_a_new_key_typed_with_the_new_endpoint_is_kept():
    with Emulator("demo", api_key="sk-second-key") as second:
        at = new_app({"openai_api_key": "sk-first", "openai_base_url": "https://api.openai.com/v1"})
        at.run()
        at.switch_page("pages/1_Connect.py").run()
        at.text_input(key="connect_openai_key").set_value("sk-second-key")
        at.text_input(key="connect_base_url").set_value(second.base_url)
        at.button[0].click().run()
        at.button(key="connect_test").click().run()
        assert any(shown(s).startswith("OpenAI: connected") for s in at.success)


def test_a_locked_endpoint_cannot_be_changed_by_a_visitor():
    with Emulator("demo", api_key=TEAM_KEY) as team, Recorder("127.0.0.1") as attacker:
        at = new_app(secrets={**LOCAL_ALLOWED, "openai_api_key": TEAM_KEY, "openai_base_url": team.base_url,
                              "lock_endpoint": True})
        at.run()
        at.switch_page("pages/1_Connect.py").run()
        assert at.text_input(key="connect_base_url").disabled
        redirect_and_test(at, attacker.base_url)  # a crafted submission of the disabled field
        assert attacker.requests == []
        assert at.session_state["ftsync_inputs"]["openai_base_url"] == team.base_url
        assert any(shown(s).startswith("OpenAI: connected") for s in at.success)  # still the team's endpoint


def test_an_unbound_key_is_never_used():
    """Defence in depth: a key whose binding does not match the endpoint is not sent (demo instead)."""
    inputs = {"openai_api_key": "sk-x", "openai_base_url": "https://api.openai.com/v1"}
    inputs[KEY_ENDPOINT] = endpoint_id(inputs)
    assert not build_connection(inputs).demo
    assert build_connection(inputs | {"openai_base_url": "http://127.0.0.1:1/v1"}).demo
    assert build_connection({k: v for k, v in inputs.items() if k != KEY_ENDPOINT}).demo


def _submit_endpoint_change() -> None:
    """A Connect submission as a crafted request could send it (endpoint fields included)."""
    import streamlit as st

    from ftsync.ui.session import save_inputs

    save_inputs({"openai_base_url": st.session_state["attack_url"], "azure_endpoint": st.session_state["attack_url"],
                 "openai_api_key": ""})


def test_a_locked_endpoint_ignores_submitted_endpoint_fields():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_submit_endpoint_change)
    at.secrets["ftsync"] = {"openai_api_key": TEAM_KEY, "openai_base_url": "https://api.openai.com/v1",
                            "lock_endpoint": True}
    at.session_state["attack_url"] = "http://127.0.0.1:9/v1"
    at.run()
    saved = at.session_state["ftsync_inputs"]
    assert saved["openai_base_url"] == "https://api.openai.com/v1" and not saved.get("azure_endpoint")
    assert saved["openai_api_key"] == TEAM_KEY  # the team key stays, for the team's endpoint


def test_the_password_fields_are_empty_after_save_and_forget_and_a_later_endpoint_asks_for_the_key():
    """#20 item 3: after Save (and after Forget keys) the typed keys are not in the form any more, so
    the next Save, of only the W&B project or of a new Base URL, does not send the key anywhere anew:
    a changed endpoint asks for it again. (AppTest empties a form's fields on submit by itself, so this
    passes without the fix too: what the browser keeps is read in tests/e2e/test_connect_keys.py.)"""
    with Emulator("demo", api_key="sk-mine-0123456789") as mine, Recorder("127.0.0.1") as other:
        at = new_app()
        at.run()
        at.switch_page("pages/1_Connect.py").run()
        at.text_input(key="connect_openai_key").input("sk-mine-0123456789")
        at.text_input(key="connect_wandb_key").input("wandb-key-0123456789abcdef0123456789abcdef")
        at.text_input(key="connect_base_url").input(mine.base_url)
        at.button[0].click().run()  # Save
        assert at.session_state["ftsync_inputs"]["openai_api_key"] == "sk-mine-0123456789"
        assert at.text_input(key="connect_openai_key").value == "" and at.text_input(key="connect_wandb_key").value == ""
        assert "sk-mine-0123456789" not in repr(at._tree)
        at.text_input(key="connect_wb_project").input("other-project")
        at.button[0].click().run()  # Save of only the W&B project: the saved key stays, for its endpoint
        assert at.session_state["ftsync_inputs"]["openai_api_key"] == "sk-mine-0123456789"
        at.text_input(key="connect_base_url").input(other.base_url)
        at.button[0].click().run()  # a new Base URL: the key is asked for again, not sent there
        assert any("endpoint changed" in shown(w) for w in at.warning)
        at.button(key="connect_test").click().run()
        assert "openai_api_key" not in at.session_state["ftsync_inputs"] and other.requests == []
        at.text_input(key="connect_openai_key").input("sk-typed-again-000")
        at.button(key="connect_forget").click().run()
        assert at.text_input(key="connect_openai_key").value == "" and "sk-typed-again-000" not in repr(at._tree)
