"""The Models page in a real browser (issue #19 item 6), demo mode, at 1400 px and on a phone's 390 px:
the models with their deadlines, a record confirmed then run in the background, the answers beside
the reference. Screenshots: tests/e2e/screenshots/models-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import running_server, wait_for_app
from .test_home_metrics import _screenshot
from .test_two_visitors import nav

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize("width", [1400, 390])
def test_models_page_records_a_model_after_the_confirmation_and_shows_its_answers(server, browser, width):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    try:
        page.goto(server)  # Home first, as a visitor would; then in the app (the demo's state is per session)
        wait_for_app(page)
        expect(page.get_by_role("link", name="Record their answers")).to_be_visible(timeout=30_000)
        nav(page, "Models")
        table = page.get_by_test_id("stDataFrame").first
        expect(table.locator("th").first).to_have_text("Model", timeout=60_000)
        expect(page.get_by_text("Pick models to see what recording them costs.")).to_be_visible()
        _screenshot(page, f"models-{width}-list.png")

        picker = page.get_by_test_id("stMultiSelect").first
        picker.locator("input").fill("support-v4")
        page.get_by_role("option", name=re.compile("support-v4")).first.click()
        page.keyboard.press("Escape")
        wait_for_app(page)
        examples = page.get_by_test_id("stNumberInputField").first
        examples.fill("5")
        examples.press("Enter")
        wait_for_app(page)
        expect(page.get_by_text(re.compile(r"Estimate: at most [\d.]+ USD for 5 requests"))).to_be_visible(
            timeout=30_000)
        page.get_by_role("button", name="Record…").click()
        wait_for_app(page)
        expect(page.get_by_text(re.compile(r"This sends 5 requests to Demo workspace"))).to_be_visible()
        _screenshot(page, f"models-{width}-confirm.png")
        page.get_by_role("button", name=re.compile(r"^Yes, record")).click()
        expect(page.get_by_text(re.compile(r"Recorded 1 model: 5 answers recorded"))).to_be_visible(timeout=120_000)
        wait_for_app(page)
        expect(page.get_by_text(re.compile(r"^5 of 5 answered examples"))).to_be_visible(timeout=30_000)
        answers = page.get_by_test_id("stDataFrame").last
        expect(answers.locator("th").first).to_have_text("line")
        expect(page.get_by_text("Every example picked is answered")).to_be_visible()
        _screenshot(page, f"models-{width}-answers.png")
    finally:
        page.context.close()
