"""Two visitors in two browser contexts, one dashboard server, two accounts: neither sees the other's
syncs, and a visitor's own server at a refused address gets nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ftsync.emulator import Emulator

from ..security.recorder import Recorder
from .conftest import SHOTS, running_server, wait_for_app
from .test_jobs_page import tick

pytestmark = pytest.mark.e2e

ALLOW_LOCAL = '[ftsync]\nallowed_endpoints = ["127.0.0.1"]\nallow_private_endpoints = true\n'


@pytest.fixture
def local_server(tmp_path):
    """A server whose operator allows endpoints on 127.0.0.1 (where the test emulators listen)."""
    yield from running_server(tmp_path, ALLOW_LOCAL)


def connect(page, server: str, key: str, base_url: str) -> None:
    page.goto(f"{server}/Connect")
    wait_for_app(page)
    page.get_by_role("textbox", name="OpenAI API key").fill(key)
    page.get_by_role("textbox", name="Base URL (optional)").fill(base_url)
    page.get_by_role("button", name="Save").click()
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"Now connected to:.*127\.0\.0\.1"))).to_be_visible()


def nav(page, name: str) -> None:
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)
    phone = page.viewport_size["width"] < 640  # the sidebar starts collapsed, and covers the page when open
    if phone:
        page.get_by_test_id("stExpandSidebarButton").click()
    link.click()
    wait_for_app(page)
    if phone and page.get_by_test_id("stSidebarCollapseButton").is_visible():
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.wait_for_timeout(300)


def test_two_visitors_with_different_keys_never_see_each_other(local_server, browser):
    with Emulator("demo", api_key="sk-alice-e2e") as a, Emulator("demo", api_key="sk-bob-e2e") as b:
        alice = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        bob = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        connect(alice, local_server, "sk-alice-e2e", a.base_url)
        connect(bob, local_server, "sk-bob-e2e", b.base_url)
        alice.screenshot(path=str(SHOTS / "connect-1400.png"), full_page=True)
        bob.screenshot(path=str(SHOTS / "connect-390.png"), full_page=True)

        nav(alice, "Jobs")
        alice.get_by_role("button", name="Filters").click()
        alice.get_by_test_id("stPopoverBody").get_by_role("button", name="succeeded", exact=True).click()
        wait_for_app(alice)
        alice.keyboard.press("Escape")
        tick(alice, [0])
        alice.get_by_role("button", name="Sync selected (1)").click()
        expect(alice.get_by_text(re.compile(r"Done: 1 selected"))).to_be_visible(timeout=90_000)
        wait_for_app(alice)
        expect(alice.get_by_text(re.compile(r"sync state: .*1 synced"))).to_be_visible()
        nav(alice, "History")
        expect(alice.get_by_text("wandb sync", exact=False)).to_be_visible()

        nav(bob, "Jobs")
        expect(bob.get_by_text(re.compile(r"sync state: 33 not synced"))).to_be_visible()
        expect(bob.get_by_test_id("stExpander")).to_have_count(0)  # no task of Alice's
        nav(bob, "History")
        expect(bob.get_by_text("No sync has run yet")).to_be_visible()
        assert bob.get_by_text("wandb sync", exact=False).count() == 0
        bob.screenshot(path=str(SHOTS / "history-other-visitor-390.png"), full_page=True)
        alice.context.close()
        bob.context.close()


def test_a_refused_endpoint_gets_nothing(server, page):
    """The default policy (no operator settings): a visitor's Base URL at 127.0.0.1 is refused unsent."""
    with Recorder("127.0.0.1") as target:
        connect_refused = page
        connect_refused.goto(f"{server}/Connect")
        wait_for_app(page)
        page.get_by_role("textbox", name="OpenAI API key").fill("sk-visitor-refused")
        page.get_by_role("textbox", name="Base URL (optional)").fill(target.base_url)
        page.get_by_role("button", name="Save").click()
        wait_for_app(page)
        page.get_by_role("button", name="Test connection").click()
        wait_for_app(page)
        expect(page.get_by_text("is not allowed here", exact=False)).to_be_visible()
        nav(page, "Jobs")
        expect(page.get_by_text("is not allowed here", exact=False)).to_be_visible()
        assert target.requests == []
