"""Metrics: curves of one or several jobs, why a job failed, events, checkpoints, and what the settings gave."""

import streamlit as st

from ftsync import metrics_view as mv
from ftsync.errors import FtsyncError
from ftsync.ui import charts
from ftsync.ui.session import cache_key, jobs_or_stop, load_jobs, load_snapshot, setup_page
from ftsync.ui.text import plain

conn = setup_page("Metrics", "📈")
st.title("Metrics")

jobs = {j["id"]: j for j in jobs_or_stop(conn)}
if not jobs:
    st.info("No fine-tuning jobs yet in this account: a job's curves show here once it starts training.")
    st.stop()
labels = mv.job_labels(jobs.values())

# A deep link names its jobs (?job=…&job=…); an id this account does not have is said, never swapped.
asked = [j for j in st.query_params.get_all("job") if j.strip()]
unknown = [j for j in asked if j not in jobs]
if unknown:
    st.warning(plain(f"Unknown job: {', '.join(unknown)} is not one of this account's {len(jobs)} jobs. "
                     "Pick jobs from the list below."), icon=":material/search_off:")
succeeded = [i for i, j in jobs.items() if j.get("status") == "succeeded"][:1]
default = [j for j in asked if j in jobs] if asked else succeeded or list(jobs)[:1]


def remember_selection() -> None:
    """Keep the URL in step with the selection, so the address bar is a link to what is shown."""
    if st.session_state["metrics_jobs"]:
        st.query_params["job"] = st.session_state["metrics_jobs"]
    elif "job" in st.query_params:
        del st.query_params["job"]


selected = st.multiselect("Jobs", list(jobs), default=default, key="metrics_jobs", on_change=remember_selection,
                          format_func=lambda i: f"{labels[i]} · {jobs[i].get('status') or 'unknown status'}",
                          placeholder="Pick one or more jobs (search by suffix or model)")
if not selected:
    st.info("Pick one or more jobs.")
    st.stop()
colors = charts.job_colors({j: labels[j] for j in selected})  # one colour per job, the same in every chart

o1, o2, o3, o4 = st.columns(4)
smoothing = o1.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="metrics_smoothing")
log_scale = o2.toggle("Log scale", key="metrics_log")
x_axis = o3.radio("X axis", ["step", "epoch"], horizontal=True, key="metrics_x")
max_points = o4.select_slider("Points per curve", [300, 1000, 1500, 3000, 10000], value=1500, key="metrics_points")
live = any(jobs[j].get("status") in ("running", "queued", "validating_files") for j in selected)


def load(current: dict) -> dict:
    """The selected jobs' snapshots; a job that cannot be read is one line, and why a job failed is said."""
    snaps = {}
    for job_id in selected:
        job = current.get(job_id, jobs[job_id])
        if job.problem:  # its curves would be drawn from fields of the wrong type: say so instead
            st.error(plain(job.problem))
            continue
        reason = mv.job_error(job) if job.get("status") == "failed" else None
        if reason:
            st.error(f"**{plain(labels[job_id])} failed:** {plain(reason, 500)}", icon=":material/error:")
        try:
            state = f"{job.get('status')}:{job.get('finished_at')}"  # a running job is read again as it moves
            snaps[job_id] = load_snapshot(cache_key(conn), job_id, state, conn)
        except FtsyncError as exc:
            st.error(plain(f"{labels[job_id]}: {exc}"))
    return snaps


def settings(snaps: dict, long) -> None:
    """Hyperparameters against the final loss, a panel each: side by side, stacked on a phone."""
    frame, loss_name = mv.settings_vs_loss([s.job for s in snaps.values()], long)
    if frame["job"].nunique() < 2:
        return
    st.subheader("What the settings gave")
    st.caption(f"A point per job, in its colour above; up: {loss_name} (lower is better). Hover for details.")
    panels = charts.settings_panels(frame, loss_name, colors)
    for column, panel in zip(st.columns(len(panels)), panels):
        column.altair_chart(panel, width="stretch", alt=f"{panel.title} against {loss_name}")


def details(snaps: dict) -> None:
    tab_events, tab_ckpt, tab_hyper = st.tabs(["Events", "Checkpoints", "Hyperparameters"])
    with tab_events:
        for job_id, snap in snaps.items():
            frame = mv.events_frame(snap.events)
            if len(frame):
                st.altair_chart(charts.events_timeline(mv.timeline_events(frame), labels[job_id]), width="stretch")
            table = mv.events_table(frame)
            st.dataframe(table, hide_index=True, width="stretch", height=250)
            if len(table) < len(frame):
                st.caption(f"The newest {len(table):,} of {len(frame):,} events (all of them are logged to W&B).")
    with tab_ckpt:
        for job_id, snap in snaps.items():
            st.markdown(f"**{plain(labels[job_id])}**")
            st.dataframe(mv.display_frame(mv.checkpoints_frame(snap.checkpoints)), hide_index=True, width="stretch")
    with tab_hyper:
        table = mv.hyperparameter_table([s.job for s in snaps.values()]).rename(columns=labels)
        st.dataframe(mv.display_frame(table), width="stretch")


@st.fragment(run_every="10s" if live else None)
def curves() -> None:
    snaps = load({j["id"]: j for j in load_jobs(cache_key(conn), conn)})
    if not snaps:
        return
    per_epoch = {j: mv.steps_per_epoch(s.job, mv.planned_total_steps(s.events, s.metrics)) for j, s in snaps.items()}
    long = mv.tidy({j: s.metrics for j, s in snaps.items()}, steps_per_epoch=per_epoch)
    without = [labels[j] for j in snaps if j not in set(long["job"])]
    if without:
        st.info(plain(f"No metrics yet for {', '.join(without)}: see the events below."), icon=":material/info:")
    if not long.empty:
        shown = mv.downsample(mv.smooth(long, smoothing), max_points)
        markers = mv.checkpoint_markers({j: s.checkpoints for j, s in snaps.items()})
        metrics = [m for m in ("loss", "accuracy", "reward") if m in set(long["metric"])]
        others = sorted(set(long["metric"]) - set(metrics))
        more = st.multiselect("More metrics", others, key="metrics_more") if others else []
        for metric in metrics + more:
            st.altair_chart(charts.metrics_chart(shown, metric, x=x_axis, log_scale=log_scale, checkpoints=markers,
                                                 colors=colors), width="stretch", alt=f"{metric} curves")
        if live:
            st.caption("Running jobs refresh every 10 s.")
        settings(snaps, long)
        # made when pressed, not on every rerun: 100,000 steps are seconds of CSV
        st.download_button("Download metrics (CSV)", lambda: mv.metrics_csv(long), file_name="metrics.csv",
                           mime="text/csv", key="metrics_csv")
    details(snaps)


curves()
