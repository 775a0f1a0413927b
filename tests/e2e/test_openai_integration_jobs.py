"""The Jobs page says which jobs' runs are OpenAI's own (its W&B integration), in Chromium at 1400 and
390 px: "Logged by" OpenAI before a sync, "OpenAI + ftsync" after, a running one left to OpenAI.

Screenshots: tests/e2e/screenshots/integration-jobs-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ftsync.emulator import Emulator

from .conftest import SHOTS, wait_for_app
from .test_jobs_page import cell, grid, row_texts, tick
from .test_two_visitors import connect, local_server, nav  # noqa: F401 - local_server is a fixture

pytestmark = pytest.mark.e2e

KEY = "sk-integration-e2e"


def with_integrations(emu: Emulator) -> tuple[str, str]:
    """The newest succeeded and the running supervised job, created with OpenAI's W&B integration
    into the dashboard's project."""
    ws = emu.workspace
    now = ws.now()
    picked = {}
    for job_id in ws.job_ids():
        plan = ws.jobs[job_id]
        status = plan.status(now)
        if plan.method == "supervised" and status in ("succeeded", "running") and status not in picked:
            picked[status] = job_id
            plan.integrations = [{"type": "wandb", "wandb": {"project": "OpenAI-Fine-Tune", "entity": None,
                                                             "tags": ["from-openai"]}}]
    return picked["succeeded"], picked["running"]


def search(page, text: str) -> None:
    box = page.get_by_placeholder("Search id, suffix, model")
    box.fill(text)
    box.press("Enter")
    wait_for_app(page)
    expect(cell(page, 0, 1)).to_have_text(text, timeout=30_000)  # the grid redrawn with the job searched for


@pytest.mark.parametrize("width,height", [(1400, 1000), (390, 844)])
def test_jobs_page_marks_runs_logged_by_openai(local_server, browser, width, height):  # noqa: F811
    with Emulator("demo", api_key=KEY) as emu:
        done, live = with_integrations(emu)
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        connect(page, local_server, KEY, emu.base_url)
        nav(page, "Jobs")
        search(page, done)
        expect(grid(page).locator("th").first).to_have_text("Sync state", timeout=30_000)
        table = grid(page)
        if width >= 1000:  # on a phone the grid draws only its first columns (the screenshots show them)
            assert "Logged by" in table.locator("th").all_inner_texts()
            assert "OpenAI" in row_texts(page, 0), row_texts(page, 0)
        page.screenshot(path=str(SHOTS / f"integration-jobs-{width}-before.png"), full_page=True)
        tick(page, [0])
        page.get_by_role("button", name="Sync selected (1)").click()
        expect(page.get_by_text(re.compile(r"Done: 1 selected"))).to_be_visible(timeout=90_000)
        wait_for_app(page)
        expect(page.get_by_text(re.compile(r"sync state: .*1 synced"))).to_be_visible()
        if width >= 1000:
            assert "OpenAI + ftsync" in row_texts(page, 0), row_texts(page, 0)
        page.screenshot(path=str(SHOTS / f"integration-jobs-{width}-after.png"), full_page=True)
        search(page, live)
        if width >= 1000:
            assert "OpenAI" in row_texts(page, 0) and "not synced" in row_texts(page, 0), row_texts(page, 0)
        page.screenshot(path=str(SHOTS / f"integration-jobs-{width}-running.png"), full_page=True)
        page.context.close()
