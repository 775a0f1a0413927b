"""History: the sync ledger, and offline runs waiting for upload."""

import pandas as pd
import streamlit as st

from ftsync.catalog import run_link
from ftsync.ui.session import ledger, setup_page
from ftsync.wandb_offline import pending_uploads, upload_command

conn = setup_page("History", "🕘")
st.title("History")
st.caption("The syncs of this account (or of this demo session) in this dashboard; other visitors' are not shown.")

book = ledger(conn)
st.subheader("Sync actions")
history = book.history(limit=500)
if history:
    frame = pd.DataFrame(history)
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    actions = st.multiselect("Action", sorted(frame["action"].unique()), key="history_action")
    outcomes = st.multiselect("Outcome", sorted(frame["outcome"].unique()), key="history_outcome")
    if actions:
        frame = frame[frame["action"].isin(actions)]
    if outcomes:
        frame = frame[frame["outcome"].isin(outcomes)]
    st.dataframe(frame[["at", "job_id", "project", "action", "outcome", "message", "run_path"]], hide_index=True,
                 width="stretch")
else:
    st.caption("No sync has run yet.")

st.subheader("Per job")
records = book.all_records()
if records:
    st.dataframe(pd.DataFrame([{"job": r.job_id, "project": r.project, "state": r.state, "job status": r.job_status,
                                "steps": r.steps_synced, "W&B": run_link(r, conn.wandb.app_url), "error": r.error,
                                "updated": pd.to_datetime(r.updated_at, unit="s", utc=True)} for r in records]),
                 hide_index=True, width="stretch")
else:
    st.caption("No job synced yet.")

st.subheader("Offline runs waiting for upload")
runs = pending_uploads(conn.wandb.run_dir)
if runs:
    st.dataframe(pd.DataFrame([{"run": r.run_id, "project": r.project, "folder": str(r.path),
                                "started": pd.to_datetime(r.start_time, unit="s", utc=True)} for r in runs]),
                 hide_index=True, width="stretch")
    st.markdown("Upload them with:")
    st.code(upload_command([str(r.path) for r in runs]), language="bash")
else:
    st.caption("None: every offline run has been uploaded, or none was written.")
