"""A malformed endpoint is refused where it enters, in one line (issue #20 item 2): on Connect
nothing is saved and every page stays usable; a team default that is not a URL stops the pages with
that line, and Connect's form can still correct it; the CLI exits 2 with one line. Only loopback is
contacted (and only by the pages that reach the emulator)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ftsync.emulator import Emulator
from ftsync.errors import ConfigError
from ftsync.settings import OpenAISettings, checked_url

from ..apptest import LOCAL_ALLOWED, PAGES, new_app, shown

MALFORMED = ["https://[::1", "https://api.openai.com:abc/v1", "::::", "ftp://example.com", "https://",
             "api.openai.com/v1", "https://exa mple.com", "http://:80/v1", "https://127.0.0.1:99999"]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_url_is_one_line_naming_the_setting(url):
    with pytest.raises(ConfigError) as caught:
        checked_url(url, "the OpenAI base URL")
    assert str(caught.value).startswith("the OpenAI base URL is not an http(s) URL: ") and "\n" not in str(caught.value)
    with pytest.raises(ConfigError):
        OpenAISettings(api_key="sk-x", base_url=url)
    with pytest.raises(ConfigError):
        OpenAISettings(api_key="sk-x", azure_endpoint=url)


@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "http://127.0.0.1:8080/v1", "https://[::1]:8443/v1",
                                 "https://my-resource.openai.azure.com", "https://proxy.corp.example/openai/v1/"])
def test_a_well_formed_url_is_kept(url):
    assert checked_url(f"  {url} ", "x") == url


@pytest.mark.parametrize("env", [{"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "https://[::1"},
                                 {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "https://api.openai.com:abc/v1"},
                                 {"AZURE_OPENAI_API_KEY": "x", "AZURE_OPENAI_ENDPOINT": "::::"}])
@pytest.mark.parametrize("command", ["sync", "jobs", "record", "watch"])
def test_the_cli_exits_2_in_one_line(sync_env, env, command):
    done = subprocess.run([sys.executable, "-m", "ftsync.cli", command], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f"ftsync {command}: ") and "is not an http(s) URL" in lines[0]


def save_base_url(at, url: str, key: str = "sk-visitor-0123456789") -> None:
    at.switch_page("pages/1_Connect.py").run()
    at.text_input(key="connect_openai_key").input(key)
    at.text_input(key="connect_base_url").input(url)
    at.button[0].click().run()  # the form's Save


def test_a_malformed_base_url_on_connect_saves_nothing_and_every_page_stays_usable(sync_env):
    with Emulator("demo", api_key="sk-visitor-0123456789") as emu:
        at = new_app()
        at.run()
        save_base_url(at, "https://[::1")
        assert not at.exception, at.exception
        assert any("Base URL is not an http(s) URL: 'https://[::1'. Nothing was saved." in shown(w) for w in at.warning)
        assert "openai_base_url" not in at.session_state["ftsync_inputs"]  # nothing saved
        for page in PAGES:
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
        save_base_url(at, emu.base_url)  # corrected: connected to it
        assert not at.exception and at.session_state["ftsync_inputs"]["openai_base_url"] == emu.base_url
        at.switch_page("pages/2_Jobs.py").run()
        assert not at.exception and len(at.dataframe[0].value) == len(emu.workspace.job_ids())


def test_a_team_default_that_is_not_a_url_stops_each_page_in_one_line_and_connect_corrects_it(sync_env):
    with Emulator("demo", api_key="sk-team-0123456789") as emu:
        at = new_app(secrets={**LOCAL_ALLOWED, "openai_api_key": "sk-team-0123456789",
                              "openai_base_url": "https://api.openai.com:abc/v1"})
        at.run()
        for page in ["app.py", *PAGES]:
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
            [error] = [shown(e) for e in at.error]
            assert "Not connected: the OpenAI base URL is not an http(s) URL" in error
        at.switch_page("pages/1_Connect.py").run()
        assert at.text_input(key="connect_base_url").value == "https://api.openai.com:abc/v1"  # the form is there
        save_base_url(at, emu.base_url, "sk-team-0123456789")  # the visitor corrects the endpoint, with its key
        assert not at.exception and not at.error
        at.switch_page("pages/2_Jobs.py").run()
        assert not at.exception and len(at.dataframe[0].value) == len(emu.workspace.job_ids())
