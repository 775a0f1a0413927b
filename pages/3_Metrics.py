"""Metrics: loss, accuracy and reward curves of one or several jobs, events, checkpoints, hyperparameters."""

import streamlit as st

from ftsync import metrics_view as mv
from ftsync.errors import FtsyncError
from ftsync.ui import charts
from ftsync.ui.session import cache_key, jobs_or_stop, load_jobs, load_snapshot, setup_page
from ftsync.ui.text import plain

conn = setup_page("Metrics", "📈")
st.title("Metrics")

jobs = {j["id"]: j for j in jobs_or_stop(conn)}

wanted = [j for j in st.query_params.get_all("job") if j in jobs]
default = wanted or [next((i for i, j in jobs.items() if j.get("status") == "succeeded"), next(iter(jobs), None))]
selected = st.multiselect("Jobs", list(jobs), default=[d for d in default if d], key="metrics_jobs",
                          format_func=lambda i: f"{i} · {jobs[i].get('status')} · "
                                                f"{jobs[i].get('user_provided_suffix') or jobs[i].get('model')}")
if not selected:
    st.info("Pick one or more jobs.")
    st.stop()

o1, o2, o3, o4 = st.columns(4)
smoothing = o1.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="metrics_smoothing")
log_scale = o2.toggle("Log scale", key="metrics_log")
x_axis = o3.radio("X axis", ["step", "epoch"], horizontal=True, key="metrics_x")
max_points = o4.select_slider("Points per curve", [300, 1000, 1500, 3000, 10000], value=1500, key="metrics_points")
live = any(jobs[j].get("status") in ("running", "queued", "validating_files") for j in selected)


@st.fragment(run_every="10s" if live else None)
def curves() -> None:
    current = {j["id"]: j for j in load_jobs(cache_key(conn), conn)}
    snaps = {}
    for job_id in selected:
        job = current.get(job_id, jobs[job_id])
        if job.problem:  # its curves would be drawn from fields of the wrong type: say so instead
            st.error(plain(job.problem))
            continue
        try:
            snaps[job_id] = load_snapshot(cache_key(conn), job_id, f"{job.get('status')}:{job.get('finished_at')}", conn)
        except FtsyncError as exc:
            st.error(plain(f"{job_id}: {exc}"))
    if not snaps:
        return
    per_epoch = {j: mv.steps_per_epoch(s.job, mv.planned_total_steps(s.events, s.metrics)) for j, s in snaps.items()}
    long = mv.tidy({j: s.metrics for j, s in snaps.items()}, steps_per_epoch=per_epoch)
    if long.empty:
        st.info("No metrics yet for the selected jobs.")
        return
    shown = mv.downsample(mv.smooth(long, smoothing), max_points)
    markers = mv.checkpoint_markers({j: s.checkpoints for j, s in snaps.items()})
    metrics = [m for m in ("loss", "accuracy", "reward") if m in set(long["metric"])]
    others = sorted(set(long["metric"]) - set(metrics))
    for metric in metrics + st.multiselect("More metrics", others, key="metrics_more"):
        st.altair_chart(charts.metrics_chart(shown, metric, x=x_axis, log_scale=log_scale, checkpoints=markers),
                        width="stretch", height=440)
    if live:
        st.caption("Running jobs refresh every 10 s.")
    st.download_button("Download metrics (CSV)", mv.metrics_csv(long), file_name="metrics.csv", mime="text/csv",
                       key="metrics_csv")
    tab_events, tab_ckpt, tab_hyper = st.tabs(["Events", "Checkpoints", "Hyperparameters"])
    with tab_events:
        for job_id, snap in snaps.items():
            st.markdown(f"**{plain(job_id)}**")
            frame = mv.events_frame(snap.events)
            if len(frame):
                st.altair_chart(charts.events_timeline(frame), width="stretch")
            st.dataframe(frame.iloc[::-1], hide_index=True, width="stretch", height=250)
    with tab_ckpt:
        for job_id, snap in snaps.items():
            st.markdown(f"**{plain(job_id)}**")
            st.dataframe(mv.checkpoints_frame(snap.checkpoints), hide_index=True, width="stretch")
    with tab_hyper:
        st.dataframe(mv.hyperparameter_table([s.job for s in snaps.values()]), width="stretch")


curves()
