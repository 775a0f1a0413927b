"""Auto-sync on Jobs and "last synced" on Home in a real browser (issue #13 item 4), demo mode, at
1400 px and on a phone's 390 px. Screenshots: tests/e2e/screenshots/auto-sync-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import SHOTS, running_server, wait_for_app
from .test_home_metrics import _screenshot
from .test_jobs_page import open_jobs
from .test_two_visitors import nav

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory.mktemp("auto-sync"))


@pytest.mark.parametrize("width", [1400, 390])
def test_auto_sync_syncs_the_visitors_jobs_and_home_says_so(server, browser, width):
    page = open_jobs(browser, server, width, 900)
    try:
        switch = page.get_by_text("Auto-sync while this page is open")
        expect(switch).to_be_visible()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"auto-sync-{width}-off.png"))
        assert not page.get_by_text(re.compile(r"^Syncing ")).count()  # off by default: nothing started
        switch.click()
        expect(page.get_by_text(re.compile(r"Auto-sync is on: every 30 s"))).to_be_visible(timeout=30_000)
        expect(page.get_by_text(re.compile(r"Done: auto-sync of \d+ · "))).to_be_visible(timeout=120_000)
        wait_for_app(page)
        expect(page.get_by_role("button", name="Sync all unsynced (0)")).to_be_disabled()
        _screenshot(page, f"auto-sync-{width}-on.png")
        nav(page, "Home")  # in the app: a new address would be a new session (the demo's state is per session)
        expect(page.get_by_text(re.compile(r"Last synced \d{4}-\d\d-\d\d \d\d:\d\d UTC by auto-sync on Jobs"))
               ).to_be_visible(timeout=30_000)
        _screenshot(page, f"auto-sync-{width}-home.png")
    finally:
        page.context.close()
