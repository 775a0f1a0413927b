"""The keys typed on Connect are not left in the page (issue #20 item 3), in a real browser: after Save
and after Forget keys the password fields are empty in the DOM (what devtools would read), and a Base
URL changed afterwards asks for the key again instead of sending it there. Loopback only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ftsync.emulator import Emulator

from ..security.recorder import Recorder
from .conftest import wait_for_app
from .test_home_metrics import _screenshot
from .test_two_visitors import connect, local_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e
KEY = "sk-e2e-keys-0123456789"


def test_password_fields_are_empty_after_save_and_forget(local_server, browser):  # noqa: F811
    with Emulator("demo", api_key=KEY) as emu, Recorder("127.0.0.1") as other:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        try:
            connect(page, local_server, KEY, emu.base_url)
            field = page.get_by_role("textbox", name="OpenAI API key")
            assert field.input_value() == ""  # Save emptied it: the key is only in the session's inputs
            assert KEY not in page.content()
            _screenshot(page, "connect-after-save.png")
            page.get_by_role("textbox", name="Base URL (optional)").fill(other.base_url)
            page.get_by_role("button", name="Save").click()
            wait_for_app(page)
            expect(page.get_by_text(re.compile("The OpenAI endpoint changed, so the saved key was not kept"))
                   ).to_be_visible()
            assert other.requests == []  # nothing, and no key, went to the new server
            field.fill("sk-typed-not-saved")
            page.get_by_role("button", name="Forget keys").click()
            wait_for_app(page)
            assert field.input_value() == "" and "sk-typed-not-saved" not in page.content()
        finally:
            page.context.close()
