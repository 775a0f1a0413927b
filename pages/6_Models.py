"""Models: every fine-tuned model of the account, until when OpenAI serves it, and what it answered;
record its answers (estimate and confirmation first) before it is gone."""

import streamlit as st

from ftsync.catalog import job_rows
from ftsync.ui import models_view as view
from ftsync.ui.session import jobs_or_stop, ledger, setup_page

conn = setup_page("Models", "🧠")
st.title("Models")
st.caption("Every fine-tuned model of this account, until when OpenAI serves it, and what it answers. "
           "Record its answers to the job's validation prompts before it is gone: they go into the job's "
           "W&B run as an `outputs` table, beside the reference.")

jobs = jobs_or_stop(conn)
rows = view.fine_tuned(job_rows(jobs, ledger(conn), *conn.wandb.scope, home=conn.home,
                                account=conn.openai.fingerprint))
if not rows:
    st.info("No fine-tuned models yet: a job makes one when it succeeds.")
    st.stop()

bounds = view.limits()
with st.spinner("Estimating what recording each model costs…"):
    estimate, problem = view.table_estimate(conn, rows, bounds)
if problem:
    st.warning(problem)
st.dataframe(view.models_frame(rows, estimate), hide_index=True, width="stretch", key="models_table",
             column_config=view.column_config(view.default_examples(bounds)))

st.subheader("Record answers")
view.progress_panel()
view.record_panel(conn, rows, bounds)

st.subheader("Recorded answers")
view.answers_panel(conn, rows)
