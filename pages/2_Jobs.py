"""Jobs: every fine-tuning job with its sync state; pick rows and sync them to W&B in the background."""

import streamlit as st

from ftsync.background import REGISTRY
from ftsync.catalog import job_rows, pending_uploads_of
from ftsync.snapshot import TERMINAL_STATUSES
from ftsync.ui import jobs_state as view
from ftsync.ui.session import TASKS, jobs_or_stop, ledger, setup_page
from ftsync.ui.tables import filter_jobs, jobs_table, rows_frame, state_counts, styled
from ftsync.wandb_offline import upload_command

conn = setup_page("Jobs", "📋")
st.title("Jobs")

jobs = jobs_or_stop(conn)
if not jobs:
    view.no_jobs_yet()
    st.stop()

tasks = st.session_state[TASKS]
busy = REGISTRY.busy(conn.account)  # jobs a sync of this account holds, started from any session
rows = job_rows(jobs, ledger(conn), *conn.wandb.scope, home=conn.home, app_url=conn.wandb.app_url, busy=busy,
                account=conn.openai.fingerprint)
frame = rows_frame(rows)
online = not conn.wandb.offline

chosen, text = view.filter_bar(sorted(set(frame["model"]) - {""}))
shown = filter_jobs(frame, chosen, text)
shown_ids = list(shown["id"])
pending = {} if online else pending_uploads_of(conn.wandb.run_dir, set(shown_ids))  # offline runs to upload
st.caption(f"{len(shown)} of {len(frame)} jobs · sync state: {state_counts(frame)} · times in UTC")
view.show_notice()

shown_table = jobs_table(shown, online=online, pending=pending)
picked = view.pick_table(styled(shown_table), shown_ids, view.column_config(online, "Logged by" in shown_table))
view.sync_buttons(conn, tasks, [r for r in rows if r.id in set(shown_ids)], picked)  # they act on the rows shown
auto = view.auto_sync(conn, tasks, rows)  # every job of the account, whatever the filters
view.progress_panel(tasks, live_jobs=any(j.get("status") not in TERMINAL_STATUSES for j in jobs), auto=auto)
view.upload_hint(upload_command([f for j in picked or shown_ids for f in pending.get(j, [])]), bool(picked))
