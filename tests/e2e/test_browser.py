"""End to end in a real browser: the demo, a sync, its chart, its training file, deep links."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import SHOTS, wait_for_app
from .test_jobs_page import tick

pytestmark = pytest.mark.e2e


def test_fresh_app_shows_demo_jobs_sync_one_then_chart_and_dataset(server, page):
    page.goto(server)
    wait_for_app(page)
    expect(page.get_by_text("Demo mode", exact=False).first).to_be_visible()
    expect(page.get_by_text("33 fine-tuning jobs")).to_be_visible()

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Jobs", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    page.get_by_role("button", name="Filters").click()
    page.get_by_test_id("stPopoverBody").get_by_role("button", name="succeeded", exact=True).click()
    wait_for_app(page)
    page.keyboard.press("Escape")
    (job_id,) = tick(page, [0])
    page.get_by_role("button", name="Sync selected (1)").click()
    expect(page.get_by_text(re.compile(r"Done: 1 selected"))).to_be_visible(timeout=90_000)
    wait_for_app(page)
    expect(page.get_by_test_id("stExpander").filter(has_text="Done").get_by_text("synced", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"sync state: .*1 synced"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "jobs-after-sync.png"), full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="History", exact=True).click()  # a new URL would be a new session
    wait_for_app(page)
    expect(page.get_by_text("Sync actions")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()

    page.goto(f"{server}/Metrics?job={job_id}")
    wait_for_app(page)
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(SHOTS / "metrics.png"), full_page=True)

    page.goto(f"{server}/Datasets?job={job_id}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Examples")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
    page.screenshot(path=str(SHOTS / "datasets.png"), full_page=True)



@pytest.mark.parametrize("path,title", [("Connect", "Connect"), ("Jobs", "Jobs"), ("Metrics", "Metrics"),
                                        ("Datasets", "Datasets"), ("History", "History")])
def test_deep_link_on_a_fresh_server(server, page, path, title):
    page.goto(f"{server}/{path}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Demo mode", exact=False).first).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0


def test_the_first_click_after_a_deep_link_on_a_fresh_server_is_heard(browser, tmp_path):
    """A first visitor who opens /Jobs on a server no one has opened: the page switches Streamlit to
    the app's navigation (ui.navigation.ensure_navigation) and runs again at once, so the visitor's
    first click is not lost to that switch."""
    from .conftest import running_server

    for server in running_server(tmp_path):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"{server}/Jobs")
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_placeholder(re.compile("Search")).fill("orders")
        page.keyboard.press("Enter")
        wait_for_app(page)
        expect(page.get_by_text(re.compile(r"^\d+ of 33 jobs"))).to_be_visible(timeout=10_000)
        assert page.get_by_text(re.compile(r"^33 of 33 jobs")).count() == 0
