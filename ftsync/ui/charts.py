"""Altair charts of the dashboard, built from `ftsync.metrics_view` frames.

Only altair here (no streamlit): a chart is plain data, so tests check its Vega-Lite spec. Altair's
default limit of 5,000 inline rows applies outside Streamlit; downsample first
(`metrics_view.downsample`) either way. Streamlit fits a whole chart, legends included, into about
350 px unless `st.altair_chart(..., height=...)` says otherwise.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Dash pattern per split; solid train, dashed validation, dotted full validation.
SPLIT_DASHES = {"train": [1, 0], "valid": [6, 3], "full_valid": [2, 2], "other": [1, 0]}
LEVEL_COLORS = {"info": "#4c78a8", "warning": "#f58518", "warn": "#f58518", "error": "#e45756"}
FADED = 0.12  # opacity of series the legend selection leaves out
CHART_HEIGHT = 320


# (field, type, options) of the metric tooltip; fields missing from the frame are skipped.
_TOOLTIP = [("job", "N", {}), ("split", "N", {}), ("step", "Q", {}), ("epoch", "Q", {"format": ".2f"}),
            ("value", "Q", {"format": ".5~g"}), ("raw", "Q", {"format": ".5~g", "title": "raw (unsmoothed)"})]


def _tooltips(columns: pd.Index) -> list[alt.Tooltip]:
    return [alt.Tooltip(f"{field}:{kind}", **opts) for field, kind, opts in _TOOLTIP if field in columns]


def _checkpoint_x(marks: pd.DataFrame, data: pd.DataFrame, x: str) -> pd.DataFrame:
    """Checkpoint marks of the jobs on the chart, with an `epoch` column when x is epoch."""
    marks = marks[marks["job"].isin(data["job"].unique())].copy()
    if x == "epoch" and "epoch" not in marks.columns:
        # Each job's steps per epoch, read off its own metric rows.
        per_epoch = (data["step"] / data["epoch"]).groupby(data["job"]).median()
        marks["epoch"] = marks["step"] / marks["job"].map(per_epoch)
    return marks.dropna(subset=[x])


def _checkpoint_layer(marks: pd.DataFrame, x: str, job_pick: alt.Parameter) -> alt.Chart:
    return alt.Chart(marks).mark_rule(strokeDash=[3, 3], strokeWidth=2).encode(
        x=alt.X(f"{x}:Q"),
        color=alt.Color("job:N"),
        opacity=alt.when(job_pick).then(alt.value(0.6)).otherwise(alt.value(FADED / 2)),
        tooltip=[alt.Tooltip("job:N"), alt.Tooltip("step:Q", title="checkpoint step"),
                 alt.Tooltip("model:N", title="checkpoint model")],
    )


def metrics_chart(long: pd.DataFrame, metric: str, *, x: str = "step", log_scale: bool = False,
                  checkpoints: pd.DataFrame | None = None, title: str | None = None) -> alt.LayerChart:
    """One metric of several jobs: a line per (job, split), colour by job, dash by split.

    Clicking a legend entry (job or split; shift-click for several) fades the other series; the x
    axis zooms and pans. `checkpoints` (job, step, model) adds a dashed rule per kept checkpoint.
    `x="epoch"` plots only rows whose epoch is known.
    """
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch', got {x!r}")
    data = long[(long["metric"] == metric) & long[x].notna()]
    data = data[[c for c in ["job", "split", "step", "epoch", "value", "raw"] if c in data.columns]]
    job_pick = alt.selection_point(fields=["job"], bind="legend", name="job_pick")
    split_pick = alt.selection_point(fields=["split"], bind="legend", name="split_pick")
    hover = alt.selection_point(name="hover", on="pointerover", nearest=True, empty=False, clear="pointerout")
    splits = [s for s in SPLIT_DASHES if s in set(data["split"])]
    y_scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    base = alt.Chart(data).encode(
        x=alt.X(f"{x}:Q", title=x),
        y=alt.Y("value:Q", title=metric, scale=y_scale),
        color=alt.Color("job:N", title="job", legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)),
    )
    lines = base.mark_line(strokeWidth=1.8).encode(
        strokeDash=alt.StrokeDash("split:N", title="split",
                                  scale=alt.Scale(domain=splits, range=[SPLIT_DASHES[s] for s in splits])),
        opacity=alt.when(job_pick & split_pick).then(alt.value(1.0)).otherwise(alt.value(FADED)),
    ).add_params(job_pick, split_pick).interactive(bind_y=False)
    # Invisible points catch the pointer (nearest) so the tooltip names the exact value under it.
    points = base.mark_point(filled=True, size=40).encode(
        opacity=alt.when(hover).then(alt.value(1.0)).otherwise(alt.value(0.0)),
        tooltip=_tooltips(data.columns),
    ).add_params(hover)
    layers: list[alt.Chart] = [lines, points]
    if checkpoints is not None and not checkpoints.empty:
        marks = _checkpoint_x(checkpoints, data, x)
        if not marks.empty:
            layers.append(_checkpoint_layer(marks, x, job_pick))
    return alt.layer(*layers).properties(title=title or metric, height=CHART_HEIGHT)


def histogram(values: pd.Series | list[float], title: str, *, bins: int = 30) -> alt.Chart:
    """Counts of `values` (e.g. tokens per example) in at most `bins` bins; NaN ignored."""
    series = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna()
    binning = alt.Bin(maxbins=bins)
    return alt.Chart(pd.DataFrame({"value": series})).mark_bar().encode(
        x=alt.X("value:Q", bin=binning, title=title),
        y=alt.Y("count():Q", title="count"),
        tooltip=[alt.Tooltip("value:Q", bin=binning, title=title), alt.Tooltip("count():Q", title="count")],
    ).properties(title=title, height=220)


def events_timeline(events: pd.DataFrame) -> alt.Chart:
    """Events (`metrics_view.events_frame`) as points over time: a row per type, colour by level."""
    data = events[["created_at", "level", "type", "message"]].dropna(subset=["created_at"]).copy()
    # Preformatted, so the tooltip shows UTC whatever the browser's time zone.
    data["time"] = data["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    levels = [lv for lv in LEVEL_COLORS if lv in set(data["level"])]
    levels += sorted(set(data["level"].dropna()) - set(levels))
    colors = [LEVEL_COLORS.get(lv, "#9d9d9d") for lv in levels]
    return alt.Chart(data).mark_point(filled=True, size=70).encode(
        x=alt.X("created_at:T", title="time (UTC)", scale=alt.Scale(type="utc")),
        y=alt.Y("type:N", title=None),
        color=alt.Color("level:N", title="level", scale=alt.Scale(domain=levels, range=colors)),
        tooltip=[alt.Tooltip("time:N", title="time"), alt.Tooltip("level:N"), alt.Tooltip("type:N"),
                 alt.Tooltip("message:N")],
    ).properties(title="events", height=160).interactive(bind_y=False)
