"""The Jobs page in a real browser (issue #11), at 1400 px and at a phone's 390 px, in demo mode: tick
rows of the table, sync them, buttons disabled while the sync runs, the sync state in view.

Screenshots: tests/e2e/screenshots/jobs-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import SHOTS, running_server, wait_for_app

pytestmark = pytest.mark.e2e

HEADER = 36  # px: the table's header row (st.dataframe's row_height=35, plus its border)
ROW = 35


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One fresh demo server for the file (each browser context is a session of its own)."""
    yield from running_server(tmp_path_factory.mktemp("jobs-page"))


def open_jobs(browser, server: str, width: int, height: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(server)  # Home first, as a visitor would
    wait_for_app(page)
    page.goto(f"{server}/Jobs")
    wait_for_app(page)
    expect(grid(page).locator("th").first).to_have_text("Sync state", timeout=30_000)
    return page


def grid(page: Page) -> Locator:
    return page.get_by_test_id("stDataFrame").first


def headers_in_view(page: Page) -> list[str]:
    """The column titles the table draws without scrolling it sideways (it renders only those)."""
    assert grid(page).locator(".dvn-scroller").first.evaluate("e => e.scrollLeft") == 0
    return grid(page).locator("th").all_inner_texts()


def row_texts(page: Page, row: int) -> list[str]:
    return grid(page).locator(f"tr[aria-rowindex='{row + 2}'] td").all_inner_texts()


def cell(page: Page, row: int, column: int) -> Locator:
    return grid(page).locator(f"tr[aria-rowindex='{row + 2}'] td").nth(column)


def tick(page: Page, rows: list[int]) -> list[str]:
    """Tick these rows' checkboxes (the grid is a canvas: click where each box is drawn); returns their job ids."""
    box = grid(page).bounding_box()
    for row in rows:
        page.mouse.click(box["x"] + 16, box["y"] + HEADER + ROW * row + ROW / 2)
        wait_for_app(page)
    for row in rows:
        expect(grid(page).locator(f"tr[aria-rowindex='{row + 2}']")).to_have_attribute("aria-selected", "true")
    return [row_texts(page, row)[1] for row in rows]


def buttons(page: Page) -> tuple[Locator, Locator, Locator]:
    return (page.get_by_role("button", name=re.compile(r"^Sync selected")),
            page.get_by_role("button", name=re.compile(r"^Sync all unsynced")),
            page.get_by_role("button", name="Re-sync selected"))


def sync_and_watch(page: Page, rows: list[int], name: str) -> list[str]:
    """Tick `rows`, press Sync selected, check the buttons are disabled while it runs, wait for the outcome."""
    job_ids = tick(page, rows)
    selected, _, resync = buttons(page)
    expect(selected).to_have_text(f"Sync selected ({len(rows)})")
    expect(selected).to_be_enabled()
    selected.click()
    expect(selected).to_be_disabled(timeout=10_000)
    expect(resync).to_be_disabled()
    expect(cell(page, rows[0], 0)).to_have_text("syncing")
    page.screenshot(path=str(SHOTS / f"jobs-{name}-syncing.png"))
    expect(page.get_by_text(re.compile(rf"Done: {len(rows)} selected · "))).to_be_visible(timeout=60_000)
    wait_for_app(page)
    expect(selected).to_be_enabled()
    for row in rows:
        expect(cell(page, row, 0)).not_to_have_text("syncing")
    return job_ids


def test_jobs_page_at_1400_px(server, browser):
    page = open_jobs(browser, server, 1400, 1000)
    assert headers_in_view(page)[:5] == ["Sync state", "Job", "Status", "Error", "W&B run"]
    assert grid(page).bounding_box()["x"] + grid(page).bounding_box()["width"] <= 1400
    assert page.get_by_text("None", exact=True).count() == 0
    page.screenshot(path=str(SHOTS / "jobs-1400.png"))

    page.get_by_role("button", name="Filters").click()
    page.get_by_test_id("stPopoverBody").get_by_role("button", name="succeeded", exact=True).click()
    wait_for_app(page)
    page.screenshot(path=str(SHOTS / "jobs-1400-filters.png"))
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name=re.compile(r"^Filters · 1"))).to_be_visible()
    assert {row_texts(page, r)[2] for r in range(3)} == {"succeeded"}

    job_ids = sync_and_watch(page, [0, 2], "1400")
    assert [row_texts(page, r)[:2] for r in (0, 2)] == [["synced", job_ids[0]], ["synced", job_ids[1]]]
    assert {row_texts(page, r)[4] for r in (0, 2)} == {"offline, to upload"}
    command = page.get_by_test_id("stCode").filter(has_text="wandb sync")
    command.scroll_into_view_if_needed()
    expect(command).to_be_visible()
    page.screenshot(path=str(SHOTS / "jobs-1400-synced.png"))

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="History", exact=True).click()
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Jobs", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_role("button", name=re.compile(r"^Filters · 1"))).to_be_visible()  # kept
    expect(buttons(page)[0]).to_have_text("Sync selected (2)")
    for row, job_id in zip((0, 2), job_ids):  # and the picked rows, still ticked
        expect(cell(page, row, 1)).to_have_text(job_id)
        expect(grid(page).locator(f"tr[aria-rowindex='{row + 2}']")).to_have_attribute("aria-selected", "true")
    page.screenshot(path=str(SHOTS / "jobs-1400-back.png"))
    page.context.close()


def test_jobs_page_at_390_px(server, browser):
    page = open_jobs(browser, server, 390, 844)
    assert headers_in_view(page)[:2] == ["Sync state", "Job"]
    for button in buttons(page):  # reachable without scrolling
        box = button.bounding_box()
        assert box and box["y"] + box["height"] <= 844, box
    page.screenshot(path=str(SHOTS / "jobs-390.png"))
    page.get_by_role("button", name="Filters").click()
    page.screenshot(path=str(SHOTS / "jobs-390-filters.png"))
    page.keyboard.press("Escape")
    sync_and_watch(page, [6], "390")
    page.get_by_test_id("stCode").filter(has_text="wandb sync").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "jobs-390-synced.png"))
    page.context.close()
