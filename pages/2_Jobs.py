"""Jobs: every fine-tuning job with its sync state; sync them to W&B in the background."""

import pandas as pd
import streamlit as st

from ftsync.background import start_sync
from ftsync.catalog import job_rows
from ftsync.sync import SyncOptions
from ftsync.ui.session import TASKS, cache_key, jobs_or_stop, ledger, load_jobs, refresh_account_data, setup_page
from ftsync.ui.tables import filter_jobs, jobs_table
from ftsync.ui.text import plain

conn = setup_page("Jobs", "📋")
st.title("Jobs")

jobs = jobs_or_stop(conn)

tasks = st.session_state[TASKS]
any_running_job = any(j.get("status") in ("running", "queued", "validating_files") for j in jobs)
active = any(t.active for t in tasks)


def start(job_ids: list[str], overwrite: bool, label: str) -> None:
    options = SyncOptions(openai=conn.openai, wandb=conn.wandb, home=conn.home, job_ids=job_ids,
                          overwrite=overwrite, action="dashboard")
    tasks.append(start_sync(options, label, account=conn.account))


@st.fragment(run_every="1s" if active else ("15s" if any_running_job else None))
def live() -> None:
    fresh = load_jobs(cache_key(conn), conn)
    rows = job_rows(fresh, ledger(conn), *conn.wandb.scope, home=conn.home, app_url=conn.wandb.app_url)
    frame = pd.DataFrame([r.to_dict() for r in rows])
    f1, f2, f3, f4, f5 = st.columns([1, 1, 1, 1, 2])
    chosen = {
        "status": f1.multiselect("Status", sorted(frame["status"].unique()), key="jobs_f_status"),
        "method": f2.multiselect("Method", sorted(frame["method"].unique()), key="jobs_f_method"),
        "model": f3.multiselect("Model", sorted(frame["model"].unique()), key="jobs_f_model"),
        "sync_state": f4.multiselect("Sync state", sorted(frame["sync_state"].unique()), key="jobs_f_sync"),
    }
    text = f5.text_input("Search", key="jobs_f_text", placeholder="id, suffix, model, fine-tuned model…")
    shown = filter_jobs(frame, chosen, text)
    states = frame["sync_state"].value_counts()
    st.caption(f"{len(shown)} of {len(frame)} jobs · sync state: " + " · ".join(f"{n} {s}" for s, n in states.items()))
    st.dataframe(jobs_table(shown), hide_index=True, width="stretch", key="jobs_table",
                 column_config={"W&B run": st.column_config.LinkColumn("W&B run")})
    for task in reversed(tasks[-3:]):
        label = f"{task.label}: {task.finished}/{task.total or len(task.job_ids) or '?'}"
        if task.active:
            st.progress(task.fraction, text=f"Syncing {label} · " + ", ".join(
                f"{j} {s}" for j, s in task.stages.items() if s != "done"))
        elif task.state == "error":
            st.error(plain(f"{task.label}: {task.error}"))
        else:
            icons = {"synced": "✅", "skipped": "⏭️", "partial": "🟡", "failed": "❌"}
            with st.expander(f"Done: {label}", expanded=task is tasks[-1]):
                st.markdown("\n".join(f"- {icons.get(o.outcome, '')} {plain(o.job_id)}: **{o.outcome}** ({o.steps} steps)"
                                       + (f" · {plain(o.message)}" if o.message else "") for o in task.outcomes.values()))
    if active and not any(t.active for t in tasks):
        refresh_account_data()
        st.rerun()  # a sync just ended: redraw the page with its outcome


live()

ids = [j["id"] for j in jobs]
labels = {j["id"]: f"{j['id']} · {j.get('status')} · {j.get('user_provided_suffix') or j.get('model')}" for j in jobs}
selected = st.multiselect("Select jobs", ids, format_func=labels.get, key="jobs_selected")
unsynced = [r.id for r in job_rows(jobs, ledger(conn), *conn.wandb.scope)
            if r.sync_state in ("not synced", "partial", "failed", "outdated")]
b1, b2, b3 = st.columns(3)
if b1.button("Sync selected", key="jobs_sync_selected", disabled=not selected, type="primary"):
    start(selected, False, f"{len(selected)} selected")
    st.rerun()
if b2.button(f"Sync all unsynced ({len(unsynced)})", key="jobs_sync_unsynced", disabled=not unsynced):
    start(unsynced, False, f"{len(unsynced)} unsynced")
    st.rerun()
if b3.button("Re-sync selected (overwrite)", key="jobs_resync", disabled=not selected):
    start(selected, True, f"{len(selected)} re-synced")
    st.rerun()
