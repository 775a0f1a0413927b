"""Driving the dashboard headless with Streamlit's AppTest: sessions, secrets, waiting for syncs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from ftsync import connection

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/1_Connect.py", "pages/2_Jobs.py", "pages/3_Metrics.py", "pages/4_Datasets.py", "pages/5_History.py",
         "pages/6_Models.py"]
# The emulators of these tests listen on 127.0.0.1: the operator allows that, as a team would its proxy.
LOCAL_ALLOWED = {"allowed_endpoints": ["127.0.0.1"], "allow_private_endpoints": True}


def new_app(inputs: dict | None = None, secrets: dict[str, Any] | None = None) -> AppTest:
    """A fresh session; `inputs` as if saved on the Connect page (the key bound to its endpoint)."""
    at = AppTest.from_file(APP, default_timeout=60)
    # always non-empty: no real secrets.toml is read
    at.secrets["ftsync"] = {"wandb_project": "OpenAI-Fine-Tune", **(LOCAL_ALLOWED if secrets is None else secrets)}
    if inputs is not None:
        bound = {connection.KEY_ENDPOINT: connection.endpoint_id(inputs)} if inputs.get("openai_api_key") else {}
        at.session_state["ftsync_inputs"] = inputs | bound
    return at


def shown(element: Any) -> str:
    """An element's text as the reader sees it (pages escape markup in text from elsewhere)."""
    return re.sub(r"\\(.)", r"\1", str(element.value)).replace("\u2060", "")  # escapes and link breakers


def texts(at: AppTest) -> str:
    parts = [shown(e) for kind in ("markdown", "caption", "info", "error", "success", "warning", "code")
             for e in getattr(at, kind)]
    return "\n".join(parts)


def wait_for_syncs(at: AppTest, timeout: float = 120) -> None:
    """Until every background sync of the session has ended (rerunning the page meanwhile)."""
    deadline = time.monotonic() + timeout
    while any(t.active for t in at.session_state["ftsync_sync_tasks"]):
        assert time.monotonic() < deadline, "background sync did not finish"
        time.sleep(0.5)
        at.run()


def sync_first_succeeded(at) -> str:
    """Sync one succeeded job from the Jobs page; returns its id once the sync has ended."""
    at.switch_page("pages/2_Jobs.py").run()
    table = at.dataframe[0].value
    job_id = table[table["Status"] == "succeeded"]["Job"].iloc[0]
    pick_rows(at, [job_id])
    at.button(key="jobs_sync_selected").click().run()
    wait_for_syncs(at)
    at.run()
    assert not at.exception
    return job_id


def pick_rows(at: AppTest, job_ids: list[str]) -> None:
    """Tick these jobs' rows in the Jobs table, as a reader does (AppTest cannot click a table: the
    selection state, row positions in the table shown, is set as the browser would send it)."""
    shown = list(at.dataframe(key="jobs_table").value["Job"]) if at.dataframe else []
    rows = sorted(shown.index(j) for j in job_ids)
    at.session_state["jobs_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
