"""The Home page: what is connected, jobs over time by status, how much is synced, recent failures, last syncs.

app.py draws it when run as the Home page (see `navigation.run_app`). Numbers come from
`ftsync.overview`, charts from `ui.charts`.
"""

from __future__ import annotations

import streamlit as st

from .. import overview
from ..catalog import job_rows
from ..connection import Connection
from . import charts
from .navigation import PAGES
from .session import jobs_or_stop, ledger, setup_page
from .text import plain


def connected(conn: Connection) -> None:
    """Where jobs come from and where runs go: a value and a plain line each (no delta arrows, no paths)."""
    left, right = st.columns(2)
    left.metric("OpenAI", "Demo" if conn.demo else ("Azure" if conn.openai.is_azure else "OpenAI"))
    left.caption(plain(conn.openai_label))
    right.metric("W&B", "offline" if conn.wandb.offline else "online")
    right.caption(plain(conn.wandb_label))


def no_jobs_yet() -> None:
    st.info("**No fine-tuning jobs yet** in this account. Check a training file on **Datasets**, then start a job "
            "with the OpenAI API (`client.fine_tuning.jobs.create(...)`) or on platform.openai.com; it shows up "
            "here within a minute. Expected jobs here? Check the account on **Connect**.",
            icon=":material/info:")


def failures(jobs: list[dict]) -> None:
    """The newest failed jobs with their error, each with a link to its events on Metrics."""
    failed = overview.recent_failures(jobs)
    if not failed:
        return
    st.subheader("Recent failures")
    for job in failed:
        with st.container(border=True):
            text, link = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f":red[:material/error:] **{plain(job['name'])}** · {job['when']} UTC  \n"
                          f"{plain(job['reason'], 400)}")
            link.page_link("pages/3_Metrics.py", label="Events", icon=":material/monitoring:",
                           query_params={"job": job["id"]}, help="This job's events and metrics")


def last_syncs(conn: Connection) -> None:
    st.subheader("Last syncs")
    if line := overview.last_synced(ledger(conn).last_synced()):
        st.markdown(f":material/sync: {plain(line)}")
    history = ledger(conn).history(limit=10)
    if history:
        st.dataframe(overview.last_syncs(history), hide_index=True, width="stretch")
    else:
        st.caption("Nothing synced yet: pick jobs on **Jobs** and sync them.")


def go_to() -> None:
    for column, (script, title, icon, tip) in zip(st.columns(len(PAGES)), PAGES):
        column.page_link(script, label=title, icon=icon, help=tip)


def home_page() -> None:
    conn = setup_page("Home")
    st.title("ftsync")
    st.caption("OpenAI fine-tuning jobs → Weights & Biases: metrics, datasets, checkpoints, events and models.")
    connected(conn)
    jobs = jobs_or_stop(conn)
    if not jobs:
        no_jobs_yet()
        go_to()
        return
    rows = [r.to_dict() for r in job_rows(jobs, ledger(conn), *conn.wandb.scope, home=conn.home,
                                          account=conn.openai.fingerprint)]
    if line := overview.serving_deadlines(rows):
        st.warning(f"{plain(line)} Record what they answer on **Models** (or with `ftsync record`) before they "
                   "are gone.", icon=":material/schedule:")
        st.page_link("pages/6_Models.py", label="Record their answers", icon=":material/neurology:")
    frame = overview.jobs_frame(rows)
    st.subheader(f"{len(frame)} fine-tuning jobs")
    counts, unit = overview.jobs_over_time(frame)
    over_time, synced = st.columns([2, 1])
    over_time.altair_chart(charts.jobs_over_time(counts, unit, overview.status_order(frame["status"])),
                           width="stretch", alt="Jobs created per period, stacked by status")
    synced.altair_chart(charts.sync_states(overview.sync_summary(frame)), width="stretch",
                        alt="Jobs per sync state")
    failures(jobs)
    last_syncs(conn)
    st.subheader("Go to")
    go_to()
