"""Home and Metrics in a real browser, on a wide screen and on a phone (issue #11), in demo mode.

The browser runs in New York time, so a chart printing local time instead of UTC shows. Screenshots go
to tests/e2e/screenshots/home-<width>.png and metrics-<width>.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import SHOTS, running_server, wait_for_app

pytestmark = pytest.mark.e2e

WIDTHS = [1400, 390]
# Every chart text (axis labels, legends, titles) that sticks out of its chart or the window: clipped.
# (4 px of slack: a rotated axis title's glyph box may overhang by a pixel or two.)
CLIPPED = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')].flatMap(chart => {
  const box = chart.getBoundingClientRect(), right = Math.min(box.right, window.innerWidth);
  const shown = t => t.getAttribute('opacity') !== '0' && getComputedStyle(t).opacity !== '0';  // not an overlap-hidden label
  return [...chart.querySelectorAll('svg text')].filter(shown).map(t => [t.textContent, t.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0 && (r.right > right + 4 || r.left < box.left - 4))
    .map(([text, r]) => `${text} at ${Math.round(r.left)}..${Math.round(r.right)} px, chart ${Math.round(box.left)}..${Math.round(right)}`);
})"""
SERVER_PATH = re.compile(r"(?<![\w:/.])/(?:tmp|root|home|srv|var|usr)/")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """One fresh server for the file: its first visitor arrives by a deep link to Metrics."""
    yield from running_server(tmp_path_factory.mktemp("home-metrics"))


@pytest.fixture(scope="module")
def demo_ids() -> dict[tuple[str | None, str], str]:
    """Job ids of the demo by (suffix, status): the dashboard's demo is this same workspace."""
    from openai import OpenAI

    from ftsync.emulator import Emulator

    with Emulator("demo") as emu:
        jobs = OpenAI(base_url=emu.base_url, api_key=emu.api_key).fine_tuning.jobs.list(limit=100).data
    return {(j.user_provided_suffix, j.status): j.id for j in jobs}


def _label(demo_ids: dict, suffix: str, status: str) -> str:
    """A job's legend name: "support-v3 · ftjob-…85lIB"."""
    return f"{suffix} · ftjob-…{demo_ids[(suffix, status)][-5:]}"


def _open(browser, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, timezone_id="America/New_York")
    return context.new_page()


def _screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall as that."""
    height = page.evaluate("Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(600)  # charts re-fit the new window
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size({"width": width, "height": 900})


def _main_text(page: Page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def _chart_texts(page: Page, *having: str) -> list[str]:
    """The texts (titles, axis labels, legends) of the first chart showing all of `having`."""
    chart = page.get_by_test_id("stVegaLiteChart")
    for text in having:
        chart = chart.filter(has_text=text)
    chart = chart.first
    expect(chart).to_be_visible(timeout=30_000)
    return chart.locator("svg text").all_text_contents()


def _pick(page: Page, search: str) -> None:
    """Add a job to the Metrics selection by typing in the picker, as a user does."""
    picker = page.get_by_test_id("stMultiSelect").filter(has_text="Jobs")
    picker.locator("input").click()
    page.keyboard.type(search)
    page.get_by_role("option").filter(has_text=search).first.click()
    page.keyboard.press("Escape")
    wait_for_app(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_metrics_then_home(url, browser, demo_ids, width):
    page = _open(browser, width)
    try:
        # a deep link: two good jobs, then a failed one with metrics and one without, picked in the list
        first, second = demo_ids[("support-v3", "succeeded")], demo_ids[("support-v4", "succeeded")]
        page.goto(f"{url}/Metrics?job={first}&job={second}")
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Metrics", exact=True)).to_be_visible(timeout=30_000)
        _pick(page, demo_ids[("orders-big", "failed")][-5:])  # the end of a job id, as its label shows it
        _pick(page, demo_ids[("support-v2", "failed")][-5:])
        assert page.url.count("job=") == 4  # the address is a link to what is shown
        failure = page.get_by_test_id("stAlert").filter(has_text="(invalid_training_file)")
        expect(failure).to_contain_text("failed: The job failed due to a file format error", timeout=30_000)
        expect(page.get_by_role("heading", name="What the settings gave")).to_be_visible()
        if width > 600:  # on a phone the navigation is folded away
            nav = page.get_by_test_id("stSidebarNav")
            expect(nav.get_by_text("Home", exact=True)).to_be_visible()
            assert "app" not in nav.inner_text().split()
        legend = _chart_texts(page, "loss")
        for job in (("support-v3", "succeeded"), ("support-v4", "succeeded"), ("orders-big", "failed")):
            assert _label(demo_ids, *job) in legend, f"{job} missing from the loss legend"
        # support-v3 ran 18:14-18:36 UTC: a 12-hour or local (New York) clock would say 06: or 14:
        timeline = _chart_texts(page, _label(demo_ids, "support-v3", "succeeded"), "time (UTC")
        times = [t for t in timeline if re.fullmatch(r"\d\d:\d\d", t)]
        assert times and all(t.startswith("18:") for t in times), times
        text = _main_text(page)
        assert "None" not in text and "↑" not in text and not SERVER_PATH.search(text)
        assert page.evaluate(CLIPPED) == []
        _screenshot(page, f"metrics-{width}.png")

        if width > 600:
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Home").click()
        else:
            page.goto(url)
        wait_for_app(page)
        expect(page.get_by_role("heading", name="ftsync")).to_be_visible(timeout=30_000)
        assert page.title().startswith("Home")
        expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(2, timeout=30_000)
        assert {"succeeded", "failed", "cancelled", "running"} <= set(_chart_texts(page, "Jobs created"))
        assert "not synced" in _chart_texts(page, "Synced to W&B")
        expect(page.get_by_role("heading", name="Recent failures")).to_be_visible()
        assert page.get_by_test_id("stMetricDelta").count() == 0
        text = _main_text(page)
        assert "None" not in text and "↑" not in text and not SERVER_PATH.search(text)
        assert page.evaluate(CLIPPED) == []
        _screenshot(page, f"home-{width}.png")
    finally:
        page.context.close()
