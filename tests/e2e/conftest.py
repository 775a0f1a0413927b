"""Browser tests: `streamlit run app.py` on a free port, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SHOTS = ROOT / "tests" / "e2e" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, secrets: str | None = None) -> tuple[subprocess.Popen, str]:
    """A fresh `streamlit run app.py`, isolated in `tmp` (with `secrets`, a secrets.toml text, if given);
    returns once /_stcore/health answers ok."""
    port = _free_port()
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text(secrets or "[ftsync]\n")  # never the developer's own secrets
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_", "WANDB_"))}
    env.update(FTSYNC_HOME=str(tmp / "home"), TMPDIR=str(tmp), WANDB_MODE="offline", WANDB_SILENT="true",
               WANDB_DATA_DIR=str(tmp / "wandb-data"), WANDB_CACHE_DIR=str(tmp / "wandb-cache"),
               WANDB_CONFIG_DIR=str(tmp / "wandb-config"))
    log = open(tmp / "streamlit.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                             "--secrets.files", str(secrets_file)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/_stcore/health", timeout=2).text == "ok":
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"streamlit did not start: {(tmp / 'streamlit.log').read_text()[-2000:]}")


def running_server(tmp: Path, secrets: str | None = None):
    """A started server for the length of a fixture: yields its URL, then stops it."""
    proc, url = start_server(tmp, secrets)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def server(tmp_path):
    """A freshly started server per test: deep links must work on a server no page has run on yet."""
    yield from running_server(tmp_path)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run",
                                    "--disable-quic"])
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Streamlit's own e2e signal: connected, and the script not running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_timeout(150)
