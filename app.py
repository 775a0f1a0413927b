"""ftsync dashboard: home. What is connected, jobs by status and sync state, the last syncs."""

import pandas as pd
import streamlit as st

from ftsync.catalog import job_rows
from ftsync.ui.session import jobs_or_stop, ledger, setup_page

conn = setup_page("Home")
st.title("ftsync")
st.caption("OpenAI fine-tuning jobs → Weights & Biases: metrics, datasets, checkpoints, events and models.")

left, right = st.columns(2)
left.metric("OpenAI", "Demo" if conn.demo else ("Azure" if conn.openai.is_azure else "OpenAI"), conn.openai_label,
            delta_color="off")
right.metric("W&B", "offline" if conn.wandb.offline else "online", conn.wandb_label, delta_color="off")

jobs = jobs_or_stop(conn)

rows = pd.DataFrame([r.to_dict() for r in job_rows(jobs, ledger(conn), *conn.wandb.scope, home=conn.home)])
st.subheader(f"{len(rows)} fine-tuning jobs")
if len(rows):
    by_status, by_sync = st.columns(2)
    by_status.markdown("**By status**")
    by_status.dataframe(rows["status"].value_counts().rename("jobs"), width="stretch")
    by_sync.markdown("**By sync state**")
    by_sync.dataframe(rows["sync_state"].value_counts().rename("jobs"), width="stretch")

st.subheader("Last syncs")
history = ledger(conn).history(limit=10)
if history:
    frame = pd.DataFrame(history)[["at", "job_id", "action", "outcome", "message"]]
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    st.dataframe(frame, hide_index=True, width="stretch")
else:
    st.caption("Nothing synced yet.")

st.subheader("Go to")
links = st.columns(5)
links[0].page_link("pages/1_Connect.py", label="Connect", icon="🔑")
links[1].page_link("pages/2_Jobs.py", label="Jobs", icon="📋")
links[2].page_link("pages/3_Metrics.py", label="Metrics", icon="📈")
links[3].page_link("pages/4_Datasets.py", label="Datasets", icon="🗂️")
links[4].page_link("pages/5_History.py", label="History", icon="🕘")
