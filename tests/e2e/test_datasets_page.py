"""The Datasets page in a real browser (issue #11), in demo mode at 1400 px and at a phone's 390 px: a chat
job, a DPO job, a legacy babbage-002 job and an upload, each priced for the model its box shows; tiles
never truncated, histograms with whole-number ticks, nothing wider than the screen.

Screenshots: tests/e2e/screenshots/datasets-*.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openai import OpenAI
from playwright.sync_api import Page, expect

from ftsync.datasets import inspect
from ftsync.emulator import Emulator

from .conftest import CHROMIUM, SHOTS, running_server, wait_for_app

pytestmark = pytest.mark.e2e
ROW = 35  # px: st.dataframe's row and header height


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One fresh demo server for the file (each browser context is a session of its own)."""
    yield from running_server(tmp_path_factory.mktemp("datasets-page"))


@pytest.fixture(scope="module")
def desktop_browser(browser):
    """Chromium with scrollbars that take room, as on a desktop (Playwright hides them in headless mode,
    which hid the findings table's clipped last row); launched by the suite's own Playwright."""
    desktop = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, ignore_default_args=["--hide-scrollbars"],
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run"])
    yield desktop
    desktop.close()


@pytest.fixture(scope="module")
def demo():
    """The same demo workspace as the server's (it is built the same on every machine), read directly."""
    with Emulator("demo") as emu:
        yield OpenAI(base_url=emu.base_url, api_key=emu.api_key)


def usd(x: float) -> str:
    """As `ftsync validate` prints a cost."""
    return f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


def open_datasets(browser, server: str, width: int, height: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{server}/Datasets")  # a deep link: on the fresh server, the first page any visitor opens
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Examples")).to_be_visible(timeout=30_000)
    return page


def pick(page: Page, box: str, text: str) -> None:
    """Choose the option containing `text` in the select box labelled `box` (typing filters the options)."""
    page.get_by_test_id("stSelectbox").filter(has_text=box).click()
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    wait_for_app(page)


def tile(page: Page, label: str) -> str:
    name = page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    metric = page.get_by_test_id("stMetric").filter(has=name)
    return metric.get_by_test_id("stMetricValue").inner_text()


def assert_tiles_whole(page: Page, width: int) -> None:
    """Every tile shows its whole value (no "prefere…": the ellipsis is on an inner element) and lies
    within the screen."""
    for value in page.get_by_test_id("stMetricValue").all():
        assert value.evaluate("e => [e, ...e.querySelectorAll('*')].every(x => x.scrollWidth <= x.clientWidth + 1)"), \
            value.inner_text()
        box = value.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (value.inner_text(), box)


def assert_priced_for(page: Page, model: str, data: bytes, fmt: str) -> None:
    """The model box shows `model`, and the cost tile is what ftsync.datasets computes for that model."""
    expect(page.get_by_role("combobox", name=re.compile("^Base model"))).to_have_value(model)
    report = inspect(data, model=model)
    assert report.format == fmt
    expect(page.get_by_text(f"Cost for {model}: ")).to_be_visible()
    assert tile(page, "Estimated cost") == usd(report.estimated_cost_usd)
    assert tile(page, "Tokens") == f"{report.tokens['total']:,}"


def axis_labels(page: Page) -> list[str]:
    """The tick labels of every histogram (Vega draws them as SVG text)."""
    charts = page.get_by_test_id("stVegaLiteChart")
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        expect(charts.nth(i).locator(".role-axis-label text").first).to_be_attached()
    return page.locator("[data-testid='stVegaLiteChart'] .role-axis-label text").evaluate_all(
        "texts => texts.map(t => t.textContent)")


def assert_whole_ticks(page: Page, charts: int | None = None) -> None:
    """Every tick label of the histograms is a whole number; `charts`: how many histograms there must be."""
    if charts is not None:
        expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(charts)
    labels = axis_labels(page)
    assert all(re.fullmatch(r"[\d,]+", t) for t in labels), labels


def assert_fits(page: Page, width: int) -> None:
    """Nothing makes the page scroll sideways, and no "None" or server path is on it."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    text = page.locator("[data-testid='stMain']").inner_text()
    assert not re.search(r"\bNone\b", text) and "/tmp" not in text and "/root" not in text


def shoot(page: Page, name: str) -> None:
    """The whole page (Streamlit scrolls stMain, not the document, so full_page alone gives one screen)."""
    size = page.viewport_size
    height = page.get_by_test_id("stMain").evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.wait_for_timeout(300)  # charts re-fit to the new size
    page.screenshot(path=str(SHOTS / f"datasets-{name}.png"), full_page=True)
    page.set_viewport_size(size)


def job_by(demo: OpenAI, suffix: str):
    return next(j for j in demo.fine_tuning.jobs.list(limit=100) if j.user_provided_suffix == suffix)


def walk(page: Page, demo: OpenAI, width: int, upload: Path) -> None:
    for suffix, fmt in (("orders-v3", "chat"), ("tone-v2", "preference"), ("classic-v2", "legacy")):
        job = job_by(demo, suffix)
        pick(page, "Job", suffix)
        assert_priced_for(page, job.model, demo.files.content(job.training_file).read(), fmt)
        assert_tiles_whole(page, width)
        assert_whole_ticks(page)
        assert_fits(page, width)
        shoot(page, f"{width}-{fmt}")

    page.get_by_text("Upload a JSONL file").click()
    wait_for_app(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    wait_for_app(page)
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("chat", timeout=30_000)
    assert_priced_for(page, "gpt-4o-mini-2024-07-18", upload.read_bytes(), "chat")  # the format's default
    pick(page, "Base model", "gpt-4.1-nano")
    assert_priced_for(page, "gpt-4.1-nano-2025-04-14", upload.read_bytes(), "chat")
    assert_tiles_whole(page, width)
    assert_whole_ticks(page, charts=3)
    assert_findings(page)
    assert_fits(page, width)
    shoot(page, f"{width}-upload")


@pytest.fixture
def upload(tmp_path) -> Path:
    """A small chat file: 2 or 4 messages per example (whole counts a chart must not split), with three
    problems: a line cut short (line 61), a duplicate (62), a legacy line (63: about the whole file)."""
    path = tmp_path / "team_train.jsonl"
    lines = []
    for i in range(60):
        turns = [{"role": "user", "content": f"order {i} status?"}, {"role": "assistant", "content": f"Order {i} ships today."}]
        lines.append(json.dumps({"messages": turns * (1 + i % 2)}))
    lines += ['{"messages": [{"role": "user"', lines[0], json.dumps({"prompt": "order?", "completion": "shipped"})]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_findings(page: Page) -> None:
    """The findings table shows every row whole, and a finding about the file says "whole file"."""
    table = page.get_by_test_id("stDataFrame").first
    expect(table.locator("td").filter(has_text="whole file")).to_have_count(1)
    rows = table.locator("tbody tr").count()
    assert rows == 3
    # The grid's visible height (its scrollbar excluded) holds the header and every row: none is cut.
    visible = table.locator(".dvn-scroller").first.evaluate("e => e.clientHeight")
    assert visible >= (rows + 1) * ROW, (visible, rows)


@pytest.mark.parametrize("width,height", [(1400, 1000), (390, 844)])
def test_datasets_page(server, desktop_browser, demo, upload, width, height):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_datasets(desktop_browser, server, width, height)
    walk(page, demo, width, upload)
    page.context.close()
