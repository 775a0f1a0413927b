"""The Jobs page's parts: filters and picked jobs kept for the session, the pickable table, the
sync buttons and the progress of background syncs.

Widgets keep their values across page switches with `persist_state="session"`. The table's own
selection is row positions, which mean other jobs once the filters change and are dropped when
the page is left, so the picked jobs are kept as ids (`PICKED`) and the table's selection is set
from them whenever it differs.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from ..background import SyncTask, start_sync
from ..catalog import SYNCED_SO_FAR, JobRow, needs_sync, outcome_label
from ..connection import Connection
from ..sync import SyncOptions
from .session import refresh_account_data
from .tables import COLUMNS, FILTERS
from .text import plain

PICKED = "jobs_picked"  # ids of the jobs picked in the table, in table order
TABLE = "jobs_table"  # the table's selection state (row positions of the rows shown last)
SHOWN = "jobs_shown"  # (ids, selected row positions) of the table as it was shown last
NOTICE = "jobs_notice"  # a one-time message for the next run (e.g. jobs left out of a sync)
RENDERED_AT = "jobs_rendered_at"  # when the whole page last ran (the live refresh reruns it after a while)
FILTER_KEYS = {"sync_state": "jobs_f_sync", "status": "jobs_f_status", "method": "jobs_f_method",
               "model": "jobs_f_model"}
LIVE_REFRESH = 30  # seconds between re-reads while a job of the account is live
AUTO_SYNC = "jobs_auto_sync"  # the "auto-sync while this page is open" switch
AUTO_SYNC_SECONDS = 30  # between auto-syncs (the account's jobs are read again each time)
AUTO_SYNC_AT = "jobs_auto_sync_at"  # when this session last started an auto-sync (monotonic)
# Material icons, not emoji: they draw the same on every machine.
OUTCOME_ICONS = {"synced": ":green[:material/check_circle:]", "synced so far": ":blue[:material/timelapse:]",
                 "skipped": ":gray[:material/skip_next:]", "partial": ":orange[:material/warning:]",
                 "failed": ":red[:material/error:]"}


def no_jobs_yet() -> None:
    """What a new account sees instead of the table: why it is empty and where to go from here."""
    st.info("**No fine-tuning jobs in this account yet.** Once you create one on OpenAI (the Fine-tuning "
            "page of platform.openai.com, or `client.fine_tuning.jobs.create(...)`), it is listed here, "
            "ready to sync to W&B.", icon=":material/inbox:")
    st.markdown("Check a training file before you start a job, or try ftsync on the demo workspace: "
                "forget your OpenAI key on the Connect page and 33 demo jobs appear here.")
    links = st.columns(3)
    links[0].page_link("pages/4_Datasets.py", label="Check a training file", icon=":material/fact_check:")
    links[1].page_link("pages/1_Connect.py", label="Connect (or use the demo)", icon=":material/key:")
    links[2].button("Look again", icon=":material/refresh:", key="jobs_reload", on_click=refresh_account_data)


def filter_bar(models: list[str]) -> tuple[dict[str, list[str]], str]:
    """A search box and a Filters popover (one row, so a phone's first screen keeps the table)."""
    row = st.container(horizontal=True, vertical_alignment="bottom")
    text = row.text_input("Search", key="jobs_f_text", type="search", label_visibility="collapsed",
                          placeholder="Search id, suffix, model", persist_state="session")
    on = sum(bool(st.session_state.get(k)) for k in FILTER_KEYS.values())
    chosen: dict[str, list[str]] = {}
    with row.popover(f"Filters · {on}" if on else "Filters", icon=":material/filter_list:"):
        for field, options in FILTERS.items():
            chosen[field] = st.pills(COLUMNS[field], options, selection_mode="multi", key=FILTER_KEYS[field],
                                     persist_state="session") or []
        kept = st.session_state.get(FILTER_KEYS["model"]) or []  # a model of another account stays choosable
        chosen["model"] = st.multiselect(COLUMNS["model"], sorted({*models, *kept}), key=FILTER_KEYS["model"],
                                         persist_state="session")
    return chosen, text or ""


def _adopt_table_selection() -> None:
    """If the reader changed the selection of the table shown last, take it into PICKED (as ids)."""
    state = st.session_state.get(TABLE)
    shown_ids, shown_rows = st.session_state.get(SHOWN, ([], []))
    if state is None or sorted(state["selection"]["rows"]) == shown_rows:
        return
    now = {shown_ids[i] for i in state["selection"]["rows"] if i < len(shown_ids)}
    hidden = [j for j in st.session_state.get(PICKED, []) if j not in shown_ids]  # filtered out: kept
    st.session_state[PICKED] = hidden + [j for j in shown_ids if j in now]


def pick_table(table: pd.DataFrame | Styler, ids: list[str], column_config: dict) -> list[str]:
    """The table with a checkbox per row; returns the picked ids among the rows shown."""
    _adopt_table_selection()
    picked = set(st.session_state.get(PICKED, []))
    rows = [i for i, job_id in enumerate(ids) if job_id in picked]
    state = st.session_state.get(TABLE)
    if state is None or sorted(state["selection"]["rows"]) != rows:  # new filters, or back on the page
        st.session_state[TABLE] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    st.session_state[SHOWN] = (list(ids), rows)
    st.dataframe(table, key=TABLE, on_select="rerun", selection_mode="multi-row", hide_index=True,
                 width="stretch", height=min(36 + 35 * len(ids), 400), row_height=35, placeholder="",
                 column_config=column_config)
    return [ids[i] for i in rows]


def column_config(online: bool, openai_runs: bool = False) -> dict:
    """Widths and hints of the table's columns; the W&B run column links to run pages when online.
    `openai_runs`: the Logged by column is shown, and Error narrows so the W&B run stays in view at 1400 px."""
    wandb = (st.column_config.LinkColumn(display_text="open run ↗", width=130) if online else
             st.column_config.TextColumn(width=130, help="Offline runs are uploaded with the command below the table"))
    return {
        "Sync state": st.column_config.TextColumn(
            width=112,  # "synced so far" whole
            help=f"'{SYNCED_SO_FAR}': a running, queued or paused job synced up to its last sync; "
                 "sync it again for its new steps"),
        "Error": st.column_config.TextColumn(width=200 if openai_runs else 280),
        "Problem": st.column_config.TextColumn(width="medium", help="Fields the server sent with the wrong type"),
        "W&B run": wandb,
        "Logged by": st.column_config.TextColumn(
            width=120, help="OpenAI: the job's run is OpenAI's own (its W&B integration logs the metrics); "
                            "OpenAI + ftsync: ftsync added the datasets, tables and model to it"),
        "Trained tokens": st.column_config.NumberColumn(format="localized"),
    }


def _start(conn: Connection, tasks: list[SyncTask], job_ids: list[str], overwrite: bool, label: str,
           action: str = "dashboard") -> None:
    """A button's on_click: it runs with the jobs the reader saw, even if another session took them
    since (then they are left out, and the reader is told)."""
    options = SyncOptions(openai=conn.openai, wandb=conn.wandb, home=conn.home, job_ids=job_ids,
                          overwrite=overwrite, action=action)
    task, busy = start_sync(options, label, account=conn.account)
    if task is not None:
        tasks.append(task)
    if busy:
        say_next_run(left_out(busy))


def sync_buttons(conn: Connection, tasks: list[SyncTask], rows: list[JobRow], picked: list[str]) -> None:
    """Sync selected / all unsynced (of `rows`, the jobs shown) / re-sync; a job being synced (by any
    session of the account, or the CLI) disables the buttons that would start it again."""
    todo = needs_sync(rows)
    held = [r.id for r in rows if r.id in picked and r.sync_state == "syncing"]
    why = (f"{len(held)} of the picked jobs are being synced: wait until that ends" if held
           else "Pick jobs in the table first")
    off = not picked or bool(held)
    bar = st.container(horizontal=True)
    bar.button(f"Sync selected ({len(picked)})", key="jobs_sync_selected", type="primary", disabled=off,
               help=why if off else None, on_click=_start, args=(conn, tasks, picked, False, f"{len(picked)} selected"))
    bar.button(f"Sync all unsynced ({len(todo)})", key="jobs_sync_unsynced", disabled=not todo,
               help="The jobs shown that are not synced, outdated, partial or failed (a live job synced "
                    "so far is not unsynced)",
               on_click=_start, args=(conn, tasks, todo, False, f"{len(todo)} unsynced"))
    bar.button("Re-sync selected", key="jobs_resync", disabled=off,
               help=why if off else "Log the picked jobs again from scratch, replacing their runs",
               on_click=_start, args=(conn, tasks, picked, True, f"{len(picked)} re-synced"))


def auto_sync(conn: Connection, tasks: list[SyncTask], rows: list[JobRow]) -> bool:
    """The "auto-sync while this page is open" switch (off by default, this session only): while on,
    every AUTO_SYNC_SECONDS the account's unsynced, outdated and live jobs are synced in the
    background, as "Sync all unsynced" would, live jobs included. Returns whether it is on."""
    on = st.toggle("Auto-sync while this page is open", key=AUTO_SYNC,
                   help=f"Every {AUTO_SYNC_SECONDS} s, this account's jobs that are not synced, outdated or still "
                        "running are synced to W&B, for as long as this page stays open in this tab (a job whose "
                        "sync failed is left to the buttons). For syncing with no page open, run `ftsync watch` "
                        "(see the README).")
    if not on:
        return False
    # failed jobs are left to the buttons: retried every 30 s they would fail again and fill the history
    unsynced = set(needs_sync(rows))
    todo = [r.id for r in rows if r.id in unsynced and r.sync_state != "failed"]
    todo += [r.id for r in rows if r.sync_state == SYNCED_SO_FAR and not r.problem]
    due = time.monotonic() - st.session_state.get(AUTO_SYNC_AT, -1e9) >= AUTO_SYNC_SECONDS
    if todo and due and not any(t.active for t in tasks):
        st.session_state[AUTO_SYNC_AT] = time.monotonic()
        _start(conn, tasks, todo, False, f"auto-sync of {len(todo)}", action="auto-sync")
    st.caption(f"Auto-sync is on: every {AUTO_SYNC_SECONDS} s while this page is open"
               + (f" · {len(todo)} to sync" if todo else " · everything is synced"))
    return True


def upload_hint(command: str | None, picked: bool) -> None:
    """The copyable `wandb sync …` command for the offline runs of the picked (else shown) jobs."""
    if command:
        whose = "the picked jobs" if picked else "the jobs shown"
        st.markdown(f"**Upload to W&B**: the offline runs of {whose} are on this server; this command uploads them.")
        st.code(command, language="bash", wrap_lines=True)


def say_next_run(message: str) -> None:
    """Keep `message` for the next run: a callback's own output would be drawn over by the page."""
    st.session_state[NOTICE] = message


def show_notice() -> None:
    if message := st.session_state.pop(NOTICE, None):
        st.warning(plain(message, 600), icon=":material/hourglass_top:")


def left_out(busy: list[str]) -> str:
    """Why some jobs were not started: a sync of the account already holds them."""
    ids = ", ".join(busy[:5]) + (f" and {len(busy) - 5} more" if len(busy) > 5 else "")
    return (f"Already being synced, so not started again: {ids}. A sync of this account, from this tab "
            "or another, holds them; their sync state changes once it ends.")


def _task_line(task: SyncTask) -> str:
    return f"{task.label}: {task.done_jobs} of {len(task.job_ids)} done"


def _outcome_lines(task: SyncTask) -> str:
    lines = []
    for o in task.outcomes.values():
        label = outcome_label(o.outcome, o.job_status)
        steps = f" ({o.steps} steps)" if o.steps else ""
        lines.append(f"- {OUTCOME_ICONS.get(label, '')} {plain(o.job_id)}: **{label}**{steps}"
                     + (f" · {plain(o.message)}" if o.message else ""))
    return "\n".join(lines)


def show_tasks(tasks: list[SyncTask], last: int = 3) -> None:
    """The session's last syncs: a progress bar while one runs, then what happened to each job."""
    for task in reversed(tasks[-last:]):
        if task.active:
            doing = ", ".join(f"{j} {s}" for j, s in task.stages.items() if s != "done")
            waiting = "waiting for a free slot" if task.state == "queued" else doing
            st.progress(task.fraction, text=plain(f"Syncing {_task_line(task)}" + (f" · {waiting}" if waiting else "")))
        elif task.state == "error":
            st.error(plain(f"{task.label}: {task.error}"))
        else:
            with st.expander(f"Done: {task.label} · {task.summary}", expanded=task is tasks[-1]):
                st.markdown(_outcome_lines(task))


def progress_panel(tasks: list[SyncTask], live_jobs: bool, auto: bool = False) -> None:
    """`show_tasks`, redrawn every second while a sync runs; the whole page reruns when it ends
    (with the account's jobs read again), and every LIVE_REFRESH seconds while a job is live or
    auto-sync is on (then with the account's jobs read again, so new jobs are seen)."""
    active = any(t.active for t in tasks)
    st.session_state[RENDERED_AT] = time.monotonic()
    every = AUTO_SYNC_SECONDS if auto else (LIVE_REFRESH if live_jobs else None)

    @st.fragment(run_every="1s" if active else (f"{every}s" if every else None))
    def panel() -> None:
        show_tasks(tasks)
        if active and not any(t.active for t in tasks):
            refresh_account_data()
            st.rerun()  # redraw the table with the sync's outcome, the buttons enabled again
        elif not active and every and time.monotonic() - st.session_state.get(RENDERED_AT, 0) >= every - 1:
            if auto:
                refresh_account_data()
            st.rerun()

    panel()
