"""Datasets: check a training or validation file of a job, of the account, or an upload."""

import streamlit as st

from ftsync.datasets import table_frame
from ftsync.errors import FtsyncError
from ftsync.ui import datasets_view as dv
from ftsync.ui.dataset_charts import histograms
from ftsync.ui.session import cache_key, jobs_or_stop, setup_page
from ftsync.ui.text import plain

conn = setup_page("Datasets", "🗂️")
st.title("Datasets")

jobs = {j["id"]: j for j in jobs_or_stop(conn)}
unknown = dv.follow_link(jobs)
if unknown:
    st.warning(plain(f"Unknown job: {unknown} is not one of this account's {len(jobs)} jobs, so no file is shown "
                     "for it. Pick a job or a file below."), icon=":material/search_off:")
if not jobs:
    st.info(dv.NO_JOBS, icon=":material/info:")

kind = dv.source_kind(jobs)
if kind == dv.JOB_FILE:
    picked = dv.job_source(jobs, unknown)
elif kind == dv.ACCOUNT_FILE:
    picked = dv.account_source(conn, jobs)
else:
    picked = dv.upload_source()
if picked is None:
    st.stop()

try:
    with st.spinner("Reading the file…"):
        default = dv.default_model(conn, picked)
    model = dv.model_box(picked, default)
    with st.spinner("Reading the file…"):
        source, report = dv.inspect_with(conn, picked, model)
except FtsyncError as exc:
    st.error(plain(exc))
    st.stop()

# ---- numbers, problems, distributions
dv.tiles(report, picked.validation)
if caption := dv.cost_caption(report, picked.validation):
    st.caption(plain(caption))
dv.verdict(report)
if report.findings:
    st.dataframe(dv.findings_frame(report), hide_index=True, width="stretch", column_config=dv.FINDINGS_COLUMNS,
                 height=dv.findings_height(len(report.findings)))
    if len(report.findings) > dv.FINDINGS_ROWS:
        st.caption(f"{len(report.findings):,} findings listed: scroll the table for all of them.")
if report.truncated_codes:
    st.caption(report.unlisted_note())

charts = histograms(report.per_example, report.format)
for col, hist in zip(st.columns(len(charts)) if charts else [], charts):
    if hist.chart is not None:
        col.altair_chart(hist.chart, width="stretch", alt=hist.title)
    else:
        col.markdown(f"**{hist.title}**  \n{hist.note}")

# ---- the examples, searchable and paged
st.subheader("Examples")
if report.format is None:
    st.info("No example to show: the file's format was not recognised (see the findings above).")
    st.stop()
top = st.columns([3, 1], vertical_alignment="bottom")
with top[0]:
    search = dv.search_box()
file_key = f"{cache_key(conn)}:{picked.key}"
total = dv.cached_matches(file_key, report.format, search, source) if search else report.examples
pages = dv.page_count(total)
with top[1]:
    page = dv.page_box(file_key, pages)
frame = table_frame(source, report.format, offset=(page - 1) * dv.PAGE_SIZE, limit=dv.PAGE_SIZE,
                    search=search or None)
st.dataframe(frame, hide_index=True, width="stretch", key="datasets_preview")
st.caption(plain(dv.page_caption(page, pages, len(frame), total, search)))
