"""Datasets: preview and validate a training/validation file of a job, of the account, or an upload."""

import hashlib

import pandas as pd
import streamlit as st

from ftsync.datasets import MODELS, histograms, table_frame
from ftsync.errors import FtsyncError
from ftsync.ui import charts
from ftsync.ui.session import cache_key, inspect_file, inspect_upload, jobs_or_stop, load_files, setup_page
from ftsync.ui.text import plain

PAGE_SIZE = 50

conn = setup_page("Datasets", "🗂️")
st.title("Datasets")

jobs = {j["id"]: j for j in jobs_or_stop(conn)}

source_kind = st.radio("Source", ["A job's file", "A fine-tune file of the account", "Upload a JSONL file"],
                       horizontal=True, key="datasets_source")
model_default, file_id, validation_id, upload = None, None, None, None
if source_kind == "A job's file":
    wanted = st.query_params.get("job")
    ids = list(jobs)
    job_id = st.selectbox("Job", ids, index=ids.index(wanted) if wanted in ids else 0, key="datasets_job",
                          format_func=lambda i: f"{i} · {jobs[i].get('user_provided_suffix') or jobs[i].get('model')}")
    job = jobs[job_id]
    if job.problem:  # its fields of the wrong type read as missing below
        st.warning(plain(job.problem))
    roles = {"training": job.get("training_file")}
    if job.get("validation_file"):
        roles["validation"] = job["validation_file"]
    role = st.radio("File", list(roles), horizontal=True, key="datasets_role")
    file_id = roles[role]
    if not file_id:
        st.info("This job names no training file.")
        st.stop()
    validation_id = job.get("validation_file") if role == "training" else None
    model_default = job.get("model")
elif source_kind == "A fine-tune file of the account":
    files = load_files(cache_key(conn), conn)
    if not files:
        st.info("The account has no fine-tune files.")
        st.stop()
    names = {f["id"]: f"{f['filename']} · {f['id']} · {f['bytes']:,} bytes" for f in files}
    file_id = st.selectbox("File", list(names), format_func=names.get, key="datasets_file")
else:
    upload = st.file_uploader("JSONL file", type=["jsonl", "json", "txt"], key="datasets_upload")
    if upload is None:
        st.stop()

models = list(MODELS)
model = st.selectbox("Base model (for token counts, limits and cost)", models,
                     index=models.index(model_default) if model_default in models else models.index("gpt-4o-mini-2024-07-18"),
                     key="datasets_model")
try:
    with st.spinner("Reading the file…"):
        if upload is not None:
            data = upload.getvalue()
            digest = hashlib.sha256(data).hexdigest()
            source, report = data, inspect_upload(conn.fingerprint, digest, model, data)
        else:
            source, report = inspect_file(cache_key(conn), file_id, model, validation_id, conn)
except FtsyncError as exc:
    st.error(plain(exc))
    st.stop()

c = st.columns(6)
c[0].metric("Format", report.format or "unknown")
c[1].metric("Examples", f"{report.examples:,}")
c[2].metric("Tokens" + ("" if report.tokens.get("exact") else " (estimate)"), f"{report.tokens.get('total', 0):,}")
c[3].metric("Trained tokens", f"{report.tokens.get('assistant', 0):,}")
c[4].metric("Epochs (default)", report.n_epochs if report.n_epochs is not None else "–")
c[5].metric("Estimated cost", f"${report.estimated_cost_usd:,.2f}" if report.estimated_cost_usd is not None else "–")
if report.cost_note:
    st.caption(report.cost_note)

errors, warnings = report.error_count, report.warning_count  # all of them, not only those listed
if errors:
    st.error(f"{errors:,} error(s) and {warnings:,} warning(s): OpenAI would reject this file.")
elif warnings:
    st.warning(f"{warnings:,} warning(s).")
else:
    st.success("No problems found.")
if report.findings:
    st.dataframe(pd.DataFrame([f.to_dict() | {"severity": f.severity} for f in report.findings]),
                 hide_index=True, width="stretch", height=min(400, 40 + 35 * len(report.findings)), key="datasets_findings")
if report.truncated_codes:
    st.caption(report.unlisted_note())

hists = histograms(report)
if hists:
    cols = st.columns(len(hists))
    for col, (title, values) in zip(cols, hists.items()):
        col.altair_chart(charts.histogram(values, title), width="stretch")

st.subheader("Examples")
s1, s2 = st.columns([3, 1])
search = s1.text_input("Search", key="datasets_search", placeholder="text in any column")
page = s2.number_input("Page", min_value=1, value=1, step=1, key="datasets_page")
frame = table_frame(source, report.format, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, search=search or None)
st.dataframe(frame, hide_index=True, width="stretch", key="datasets_preview")
st.caption(f"Page {page}: {len(frame)} example(s){' matching the search' if search else ''}.")
