"""The Jobs page as a team uses it every day (issue #11), driven headless with AppTest: an empty
account, the table's columns and cells, picking rows, the sync buttons while a sync runs, one sync
per job across sessions, live jobs synced so far, and filters kept across pages. Real emulator,
W&B offline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest

from ftsync.background import SCHEDULER
from ftsync.catalog import JobRow
from ftsync.emulator import Emulator
from ftsync.ui.tables import jobs_table, rows_frame
from ftsync.wandb_offline import read_run

from .apptest import new_app, pick_rows, shown, texts, wait_for_syncs

JOBS = "pages/2_Jobs.py"
FIRST_COLUMNS = ["Sync state", "Job", "Status", "Error", "W&B run"]
UTC_MINUTE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")


pytestmark = pytest.mark.usefixtures("fresh_caches")


@contextmanager
def syncs_held() -> Iterator[None]:
    """Every sync slot of the process taken: a sync started meanwhile waits, queued, holding its jobs."""
    fillers = [f"test-filler-{i}" for i in range(SCHEDULER.slots)]
    for account in fillers:
        SCHEDULER.acquire(account)
    try:
        yield
    finally:
        for account in fillers:
            SCHEDULER.release(account)


def jobs_page(inputs: dict | None = None):
    at = new_app(inputs)
    at.run()
    at.switch_page(JOBS).run()
    assert not at.exception, at.exception
    return at


def table(at) -> pd.DataFrame:
    return at.dataframe(key="jobs_table").value.set_index("Job")


def of_status(at, status: str, n: int = 1) -> list[str]:
    frame = table(at)
    return list(frame[frame["Status"] == status].index[:n])


def labels(at) -> dict[str, tuple[str, bool]]:
    """The sync buttons: key -> (label, disabled)."""
    return {b.key: (b.label, b.disabled) for b in at.button if b.key and b.key.startswith("jobs_")}


def test_an_account_with_no_jobs_says_so_and_what_to_do():
    """Proves item 0: an account with no job yet gets the Jobs page saying so and what to do, and
    Home, Metrics, Datasets (where it links) and History render too (without the fix: a KeyError
    on Jobs)."""
    with Emulator("empty", api_key="sk-new-account") as emu:
        at = new_app({"openai_api_key": "sk-new-account", "openai_base_url": emu.base_url})
        at.run()
        assert not at.exception, at.exception
        at.switch_page(JOBS).run()
        assert not at.exception, at.exception
        said = texts(at)
        assert "No fine-tuning jobs in this account yet" in said and "create one on OpenAI" in said
        assert "demo workspace" in said and not at.dataframe
        assert [p.proto.label for p in at.get("page_link")] == ["Check a training file", "Connect (or use the demo)"]
        for page in ("pages/3_Metrics.py", "pages/4_Datasets.py", "pages/5_History.py"):  # Home ran first
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)


def test_the_table_shows_sync_state_and_error_first_and_no_none(sync_env):
    """Proves item 6: sync state, job, status, error and W&B run come first; the failed jobs' error
    is OpenAI's message; times are 24-hour UTC; no cell reads "None" and no server path is shown
    (without the fix: Sync state is 10th, empty cells say None, W&B run holds the offline folder)."""
    at = jobs_page()
    frame = at.dataframe(key="jobs_table").value
    assert list(frame.columns[:5]) == FIRST_COLUMNS
    text_cells = frame.drop(columns=["Trained tokens"])
    assert not text_cells.isna().any().any() and not text_cells.isin(["None", "nan", "NaT"]).any().any()
    assert at.dataframe(key="jobs_table").proto.placeholder == ""  # what a missing token count shows
    assert frame["Created"].str.match(UTC_MINUTE).all() and "times in UTC" in texts(at)
    errors = frame.groupby("Status")["Error"].agg(lambda cells: (cells != "").mean())
    assert (errors["failed"], errors["succeeded"]) == (1, 0)  # every failed job says why, no other does

    job_id = of_status(at, "succeeded")[0]
    pick_rows(at, [job_id])
    at.button(key="jobs_sync_selected").click().run()
    wait_for_syncs(at)
    at.run()
    row = table(at).loc[job_id]
    assert (row["Sync state"], row["W&B run"]) == ("synced", "offline, to upload")
    assert str(sync_env["wandb"]) not in at.dataframe(key="jobs_table").value.to_csv()
    command = at.code[0].value  # the path is only in the command that uploads the run
    assert command.startswith(f"wandb sync {sync_env['wandb']}") and job_id in command


def test_an_online_run_is_a_link_to_its_page():
    """Proves item 6 (online): the W&B run cell of a job synced online is its run page's URL."""
    row = JobRow(id="ftjob-abc", suffix=None, model="gpt-4.1", method="supervised", status="succeeded",
                 created_at=1_760_000_000, finished_at=None, duration_seconds=None, trained_tokens=None,
                 fine_tuned_model=None, n_epochs=None, sync_state="synced", synced_steps=10, run_link=None,
                 sync_error=None, run_url="https://wandb.ai/team/OpenAI-Fine-Tune/runs/ftjob-abc")
    shown_row = jobs_table(rows_frame([row]), online=True).iloc[0]
    assert shown_row["W&B run"] == "https://wandb.ai/team/OpenAI-Fine-Tune/runs/ftjob-abc"
    assert (shown_row["Suffix"], shown_row["Duration"], shown_row["Created"]) == ("", "", "2025-10-09 08:53")
    assert "Problem" not in shown_row.index  # only when a job has one


def test_buttons_are_disabled_while_a_sync_of_the_picked_jobs_runs():
    """Proves item 2: once a sync of the picked jobs is started, its buttons are disabled and its
    jobs read "syncing" (and leave the unsynced count) until it ends; the outcome panel counts every
    job of the task (without the fix: the buttons stay enabled, and a skipped job is left out of
    "Done: 2 selected: 1/1")."""
    at = jobs_page()
    first, second = of_status(at, "succeeded", 2)
    pick_rows(at, [first])
    at.button(key="jobs_sync_selected").click().run()
    wait_for_syncs(at)
    at.run()
    with syncs_held():
        pick_rows(at, [first, second])
        assert labels(at)["jobs_sync_selected"] == ("Sync selected (2)", False)
        unsynced_before = labels(at)["jobs_sync_unsynced"][0]
        at.button(key="jobs_sync_selected").click().run()
        at.run()
        assert not at.exception, at.exception
        assert labels(at)["jobs_sync_selected"] == ("Sync selected (2)", True)
        assert labels(at)["jobs_resync"] == ("Re-sync selected", True)
        assert table(at).loc[[first, second], "Sync state"].tolist() == ["syncing", "syncing"]
        assert (unsynced_before, labels(at)["jobs_sync_unsynced"][0]) == (
            "Sync all unsynced (32)", "Sync all unsynced (31)")
        assert at.progress[0].text.replace("\\", "") == "Syncing 2 selected: 0 of 2 done · waiting for a free slot"
    wait_for_syncs(at)
    at.run()
    assert labels(at)["jobs_sync_selected"] == ("Sync selected (2)", False)
    assert at.expander[0].label == "Done: 2 selected · 1 synced, 1 skipped"


def test_a_job_being_synced_is_never_started_twice_across_sessions(sync_env):
    """Proves item 2 across sessions: three sessions (tabs) of one account press sync on the same
    jobs, two of them on a page drawn before the first pressed; those two are told the jobs are
    already being synced, start nothing, and see the buttons disabled. Each job is synced once
    (without the registry: three tasks, and a job synced by two of them)."""
    with Emulator("bench", api_key="sk-team-key", jobs=3, steps=10, examples=12) as emu:
        inputs = {"openai_api_key": "sk-team-key", "openai_base_url": emu.base_url}
        alice, bob, carol = jobs_page(inputs), jobs_page(inputs), jobs_page(inputs)
        first, *others = table(alice).index
        with syncs_held():
            pick_rows(alice, [first])
            pick_rows(bob, [first])
            alice.button(key="jobs_sync_selected").click().run()
            bob.button(key="jobs_sync_selected").click().run()  # drawn enabled before Alice pressed
            assert shown(bob.warning[0]).startswith(f"Already being synced, so not started again: {first}.")
            assert labels(bob)["jobs_sync_selected"] == ("Sync selected (1)", True)
            assert table(bob).loc[first, "Sync state"] == "syncing"
            alice.button(key="jobs_sync_unsynced").click().run()  # the two others
            carol.button(key="jobs_sync_unsynced").click().run()  # drawn as "Sync all unsynced (3)"
            assert shown(carol.warning[0]).startswith("Already being synced, so not started again: ")
            assert labels(carol)["jobs_sync_unsynced"] == ("Sync all unsynced (0)", True)
            assert [t.job_ids for t in alice.session_state["ftsync_sync_tasks"]] == [[first], others]
            assert not bob.session_state["ftsync_sync_tasks"] and not carol.session_state["ftsync_sync_tasks"]
        wait_for_syncs(alice)
        runs = [read_run(p, header_only=True).run_id for p in sync_env["wandb"].rglob("offline-run-*")]
        assert sorted(runs) == sorted([first, *others])  # one run each
        bob.run()
        assert set(table(bob)["Sync state"]) == {"synced"}
        assert labels(bob)["jobs_sync_selected"] == ("Sync selected (1)", False)


def test_a_paused_job_synced_so_far_is_not_unsynced():
    """Proves item 2's semantics: a live (paused) job synced up to now reads "synced so far" and
    leaves "Sync all unsynced" (without the fix: it stays "partial" and the count never clears)."""
    at = jobs_page()
    paused = of_status(at, "paused")[0]
    before = labels(at)["jobs_sync_unsynced"][0]
    pick_rows(at, [paused])
    at.button(key="jobs_sync_selected").click().run()
    wait_for_syncs(at)
    at.run()
    assert table(at).loc[paused, "Sync state"] == "synced so far"
    assert (before, labels(at)["jobs_sync_unsynced"][0]) == ("Sync all unsynced (33)", "Sync all unsynced (32)")
    assert at.expander[0].label == "Done: 1 selected · 1 synced so far"


def test_filters_and_picked_jobs_are_kept_across_pages():
    """Proves item 6: filters, search and the picked rows survive going to another page and back
    (without the fix: every filter and the selection are empty again)."""
    at = jobs_page()
    at.pills(key="jobs_f_status").set_value(["succeeded", "failed"]).run()
    at.text_input(key="jobs_f_text").input("v").run()
    filtered = table(at)
    assert set(filtered["Status"]) == {"succeeded", "failed"} and len(filtered) < 33
    assert labels(at)["jobs_sync_unsynced"][0] == f"Sync all unsynced ({len(filtered)})"  # of the jobs shown
    picked = list(filtered.index[1:3])
    pick_rows(at, picked)
    assert labels(at)["jobs_sync_selected"][0] == "Sync selected (2)"
    for page in ("pages/5_History.py", "pages/3_Metrics.py", JOBS):
        at.switch_page(page).run()
        assert not at.exception, at.exception
    assert at.pills(key="jobs_f_status").value == ["succeeded", "failed"]
    assert at.text_input(key="jobs_f_text").value == "v"
    assert list(table(at).index) == list(filtered.index)
    assert at.session_state["jobs_table"]["selection"]["rows"] == [1, 2]
    assert labels(at)["jobs_sync_selected"][0] == "Sync selected (2)"
    at.pills(key="jobs_f_status").set_value(["succeeded"]).run()  # narrower filter: the picks follow their rows
    rows = at.session_state["jobs_table"]["selection"]["rows"]
    assert [list(table(at).index)[i] for i in rows] == [j for j in table(at).index if j in picked]


def test_auto_sync_is_off_by_default_and_when_on_syncs_the_account_and_says_so_on_home(monkeypatch, frozen_demo):
    """Proves #13 item 4: the switch is off by default (nothing starts); switched on, this account's
    unsynced and live jobs are synced in the background (the ledger says "auto-sync"), again once
    the interval has passed (live jobs grow); Home says when and by what the account was last synced.
    The demo's clock is stopped (the process-wide demo's live jobs would start and end mid-test)."""
    from ftsync.ui import jobs_state

    emu = frozen_demo
    at = jobs_page({"openai_api_key": emu.api_key, "openai_base_url": emu.base_url})
    assert at.toggle(key="jobs_auto_sync").value is False and not at.session_state["ftsync_sync_tasks"]
    unsynced = int(re.search(r"\((\d+)\)", labels(at)["jobs_sync_unsynced"][0]).group(1))
    at.toggle(key="jobs_auto_sync").set_value(True).run()
    task, = at.session_state["ftsync_sync_tasks"]
    assert task.label == f"auto-sync of {unsynced}"
    wait_for_syncs(at, timeout=240)
    assert task.state == "done" and len(task.job_ids) == unsynced, task.error
    assert {o.outcome for o in task.outcomes.values()} <= {"synced", "partial"} and len(task.outcomes) == unsynced, \
        {j: (o.outcome, o.message) for j, o in task.outcomes.items() if o.outcome not in ("synced", "partial")}
    at.run()
    assert labels(at)["jobs_sync_unsynced"] == ("Sync all unsynced (0)", True)
    live = [j for j, state in table(at)["Sync state"].items() if state == "synced so far"]
    assert live and "everything is synced" not in texts(at)  # live jobs: always something to sync
    at.run()  # within the interval: no new auto-sync
    assert len(at.session_state["ftsync_sync_tasks"]) == 1
    monkeypatch.setattr(jobs_state, "AUTO_SYNC_SECONDS", 0)
    emu.clock.now += 4  # the running jobs take a step or two, nothing starts or ends
    at.run()
    assert at.session_state["ftsync_sync_tasks"][-1].label == f"auto-sync of {len(live)}"
    wait_for_syncs(at)
    at.switch_page("app.py").run()
    said = texts(at)
    assert re.search(r"Last synced \d{4}-\d\d-\d\d \d\d:\d\d UTC by auto-sync on Jobs \(ftjob-", said), said
