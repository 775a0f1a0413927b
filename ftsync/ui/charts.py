"""Altair charts of the dashboard, built from `ftsync.metrics_view` frames.

Only altair here (no streamlit): a chart is plain data, so tests check its Vega-Lite spec. Altair's
default limit of 5,000 inline rows applies outside Streamlit; downsample first
(`metrics_view.downsample`) either way. Streamlit would fit a whole chart, legends included, into
its height; charts here size their plot themselves (FIT_WIDTH) and legends add to it.

Colours mean one thing per page: a job's colour comes from `JobColors` (selection order), a status's
from STATUS_COLORS, a sync state's from SYNC_COLORS. Times are UTC on a 24-hour clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import altair as alt
import pandas as pd

# Dash pattern per split; solid train, dashed validation, dotted full validation.
SPLIT_DASHES = {"train": [1, 0], "valid": [6, 3], "full_valid": [2, 2], "other": [1, 0]}
LEVEL_COLORS = {"info": "#4e79a7", "warning": "#f28e2b", "warn": "#f28e2b", "error": "#e15759"}
FADED = 0.12  # opacity of series the legend selection leaves out
CHART_HEIGHT = 320

# Tableau 10, reordered so that neighbours differ in hue and lightness (no blue next to teal, red next
# to pink): the first jobs picked get the most distinct colours.
JOB_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
               "#9c755f", "#76b7b2", "#edc948", "#ff9da7", "#bab0ac")
# A job's status, coloured as people expect: green done, red failed, grey cancelled, blues in progress.
STATUS_COLORS = {"succeeded": "#59a14f", "failed": "#e15759", "cancelled": "#9d9d9d", "running": "#4e79a7",
                 "paused": "#f28e2b", "queued": "#a0cbe8", "validating_files": "#76b7b2"}
SYNC_COLORS = {"synced": "#59a14f", "partial": "#edc948", "outdated": "#f28e2b", "syncing": "#4e79a7",
               "failed": "#e15759", "not synced": "#bab0ac"}
OTHER_COLOR = "#d4a6c8"
TIME_FORMAT = "%H:%M"  # 24-hour; axes say UTC in their title
# Below the chart, one entry per line: a phone's 390 px never clips a label, however many jobs.
LEGEND = {"orient": "bottom", "direction": "vertical", "columns": 1, "labelLimit": 320, "symbolLimit": 0}
# Fit the page's width; the height is the plot's, legends and axes added below it. (Streamlit's default,
# "fit", squeezes the legend into the height instead: a long legend leaves no room for the plot.)
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


@dataclass
class JobColors:
    """Each job's legend label and colour. Built once per page from the selection (`job_colors`) and given
    to every chart, so a job has the same colour, and the same legend entry, in all of them."""

    labels: dict[str, str]  # job id -> label, in selection order

    @property
    def domain(self) -> list[str]:
        return list(self.labels.values())

    @property
    def range(self) -> list[str]:
        return [JOB_PALETTE[i % len(JOB_PALETTE)] for i in range(len(self.labels))]

    def color(self, job_id: str) -> str:
        return self.range[list(self.labels).index(job_id)]

    def known(self, frame: pd.DataFrame) -> list[str]:
        """The jobs of `frame` this palette knows."""
        return [job for job in self.labels if job in set(frame["job"])]

    def labelled(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with a `label` column (from its `job` column) for the colour encoding."""
        return frame.assign(label=frame["job"].map(self.labels).fillna(frame["job"]))

    def encoding(self, jobs: Iterable[str] | None = None, *, legend: bool = True) -> alt.Color:
        """Colour by `label`; the scale lists `jobs` (those a chart draws; default all) with their own colours,
        so the legend names only what is drawn and a job's colour never depends on the chart."""
        shown = set(self.labels if jobs is None else jobs)
        pairs = [(label, color) for (job, label), color in zip(self.labels.items(), self.range) if job in shown]
        scale = alt.Scale(domain=[label for label, _ in pairs], range=[color for _, color in pairs])
        return alt.Color("label:N", title="job", scale=scale, legend=alt.Legend(**LEGEND) if legend else None)


def job_colors(jobs: Mapping[str, str] | Iterable[str]) -> JobColors:
    """Colours in selection order: the i-th job gets JOB_PALETTE[i] (cycling after 10). `jobs` is the
    ordered job ids, or a mapping of job id to legend label (`metrics_view.job_labels`)."""
    labels = dict(jobs) if isinstance(jobs, Mapping) else {j: j for j in jobs}
    return JobColors(labels)


def _fixed_colors(values: list[str], colors: Mapping[str, str], field: str, legend: alt.Legend | None) -> alt.Color:
    """A colour per category from `colors` (OTHER_COLOR for the rest), in the order of `values`."""
    scale = alt.Scale(domain=values, range=[colors.get(v, OTHER_COLOR) for v in values])
    return alt.Color(f"{field}:N", title=field, scale=scale, legend=legend)


# (field, type, options) of the metric tooltip; fields missing from the frame are skipped.
_TOOLTIP = [("label", "N", {"title": "job"}), ("split", "N", {}), ("step", "Q", {}),
            ("epoch", "Q", {"format": ".2f"}), ("value", "Q", {"format": ".5~g"}),
            ("raw", "Q", {"format": ".5~g", "title": "raw (unsmoothed)"})]


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


def _checkpoint_layer(marks: pd.DataFrame, x: str, job_pick: alt.Parameter, color: alt.Color,
                      colors: JobColors) -> alt.Chart:
    return alt.Chart(colors.labelled(marks)).mark_rule(strokeDash=[3, 3], strokeWidth=2).encode(
        x=alt.X(f"{x}:Q"),
        color=color,
        opacity=alt.when(job_pick).then(alt.value(0.6)).otherwise(alt.value(FADED / 2)),
        tooltip=[alt.Tooltip("label:N", title="job"), alt.Tooltip("step:Q", title="checkpoint step"),
                 alt.Tooltip("model:N", title="checkpoint model")],
    )


def metrics_chart(long: pd.DataFrame, metric: str, *, x: str = "step", log_scale: bool = False,
                  checkpoints: pd.DataFrame | None = None, title: str | None = None,
                  colors: JobColors | None = None) -> alt.LayerChart:
    """One metric of several jobs: a line per (job, split), colour by job (`colors`: the page's, so a
    job looks the same in every chart; by default the jobs of `long` in order), dash by split.

    Clicking a legend entry (job or split; shift-click for several) fades the other series; the x
    axis zooms and pans. `checkpoints` (job, step, model) adds a dashed rule per kept checkpoint.
    `x="epoch"` plots only rows whose epoch is known.
    """
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch', got {x!r}")
    colors = colors or job_colors(list(dict.fromkeys(long["job"])))
    data = long[(long["metric"] == metric) & long[x].notna()]
    data = colors.labelled(data[[c for c in ["job", "split", "step", "epoch", "value", "raw"] if c in data.columns]])
    job_pick = alt.selection_point(fields=["label"], bind="legend", name="job_pick")
    split_pick = alt.selection_point(fields=["split"], bind="legend", name="split_pick")
    hover = alt.selection_point(name="hover", on="pointerover", nearest=True, empty=False, clear="pointerout")
    splits = [s for s in SPLIT_DASHES if s in set(data["split"])]
    y_scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    color = colors.encoding(colors.known(data))  # one scale for all layers: the jobs drawn
    base = alt.Chart(data).encode(x=alt.X(f"{x}:Q", title=x), y=alt.Y("value:Q", title=metric, scale=y_scale),
                                  color=color)
    lines = base.mark_line(strokeWidth=1.8).encode(
        strokeDash=alt.StrokeDash("split:N", title="split", legend=alt.Legend(orient="top", direction="horizontal"),
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
            layers.append(_checkpoint_layer(marks, x, job_pick, color, colors))
    return alt.layer(*layers).properties(title=title or metric, height=CHART_HEIGHT, autosize=FIT_WIDTH)


def histogram(values: pd.Series | list[float], title: str, *, bins: int = 30) -> alt.Chart:
    """Counts of `values` (e.g. tokens per example) in at most `bins` bins; NaN ignored."""
    series = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna()
    binning = alt.Bin(maxbins=bins)
    return alt.Chart(pd.DataFrame({"value": series})).mark_bar().encode(
        x=alt.X("value:Q", bin=binning, title=title),
        y=alt.Y("count():Q", title="count"),
        tooltip=[alt.Tooltip("value:Q", bin=binning, title=title), alt.Tooltip("count():Q", title="count")],
    ).properties(title=title, height=220)


def utc_time_axis(times: pd.Series, name: str = "time") -> alt.Axis:
    """A 24-hour UTC time axis (for an x of scale type "utc"): "16:05" when all `times` fall on one day
    (the day is in the title; "16:05:30" when they span minutes only, so no two ticks read the same),
    "19 Oct 16:05" when they span several days."""
    times = pd.to_datetime(times, utc=True).dropna()
    days = sorted({t.strftime("%Y-%m-%d") for t in (times.min(), times.max())}) if len(times) else []
    # No formatType: with the scale's type "utc" the format prints UTC; "time" would print the browser's
    # local time under a UTC title (and "utc" is not a format type: Vega falls back to its 12-hour clock).
    # labelFlush: the last label ends at the plot's edge instead of hanging over it (clipped on a phone).
    spacing = {"labelOverlap": "greedy", "labelSeparation": 8, "tickCount": 6, "labelFlush": True}
    if len(days) > 1:
        return alt.Axis(format=f"%d %b {TIME_FORMAT}", title=f"{name} (UTC)", **spacing)
    short = len(times) and times.max() - times.min() < pd.Timedelta(minutes=10)
    return alt.Axis(format=TIME_FORMAT + (":%S" if short else ""), title=f"{name} (UTC, {days[0] if days else '—'})",
                    **spacing)


def events_timeline(events: pd.DataFrame, title: str = "events") -> alt.Chart:
    """Events (`metrics_view.events_frame`) as points over time: a row per type, colour by level."""
    data = events[["created_at", "level", "type", "message"]].dropna(subset=["created_at"]).copy()
    # Preformatted, so the tooltip shows UTC whatever the browser's time zone.
    data["time"] = data["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    levels = [lv for lv in LEVEL_COLORS if lv in set(data["level"])]
    levels += sorted(set(data["level"].dropna()) - set(levels))
    colors = [LEVEL_COLORS.get(lv, "#9d9d9d") for lv in levels]
    return alt.Chart(data).mark_point(filled=True, size=70).encode(
        x=alt.X("created_at:T", scale=alt.Scale(type="utc", padding=10), axis=utc_time_axis(data["created_at"])),
        y=alt.Y("type:N", title=None),
        color=alt.Color("level:N", title="level", scale=alt.Scale(domain=levels, range=colors),
                        legend=alt.Legend(orient="top", direction="horizontal")),
        tooltip=[alt.Tooltip("time:N", title="time"), alt.Tooltip("level:N"), alt.Tooltip("type:N"),
                 alt.Tooltip("message:N")],
    ).properties(title=title, height=140, autosize=FIT_WIDTH).interactive(bind_y=False)


# --- Home -------------------------------------------------------------------------------------------

_PERIOD_AXIS = {"day": "%d %b", "week": "%d %b", "month": "%b %Y"}


def jobs_over_time(counts: pd.DataFrame, unit: str, statuses: list[str]) -> alt.Chart:
    """Jobs created per period (`overview.jobs_over_time`: period, end, status, jobs, below, top), a bar
    per period spanning it, stacked by status in STATUS_COLORS."""
    data = counts.assign(when=counts["period"].dt.strftime("%Y-%m-%d" if unit != "month" else "%B %Y"))
    return alt.Chart(data).mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X("period:T", scale=alt.Scale(type="utc"), title=f"created (UTC), per {unit}",
                axis=alt.Axis(format=_PERIOD_AXIS[unit], labelOverlap="greedy", labelFlush=True)),  # UTC: scale type
        x2="end:T",
        y=alt.Y("below:Q", title="jobs", axis=alt.Axis(tickMinStep=1)),
        y2="top:Q",
        color=_fixed_colors(statuses, STATUS_COLORS, "status", alt.Legend(orient="bottom", columns=2, title=None)),
        tooltip=[alt.Tooltip("when:N", title=unit if unit != "week" else "week of"), alt.Tooltip("status:N"),
                 alt.Tooltip("jobs:Q")],
    ).properties(title="Jobs created, by status", height=220, autosize=FIT_WIDTH)


def sync_states(summary: pd.DataFrame) -> alt.LayerChart:
    """Jobs per sync state (`overview.sync_summary`): a bar each, with its count."""
    states = list(summary["state"])
    base = alt.Chart(summary).encode(y=alt.Y("state:N", sort=states, title=None),
                                     x=alt.X("jobs:Q", title="jobs", axis=alt.Axis(tickMinStep=1)))
    bars = base.mark_bar().encode(color=_fixed_colors(states, SYNC_COLORS, "state", None),  # the axis names them
                                  tooltip=[alt.Tooltip("state:N"), alt.Tooltip("jobs:Q")])
    counts = base.mark_text(align="left", dx=4).encode(text=alt.Text("jobs:Q"))
    return alt.layer(bars, counts).properties(title="Synced to W&B", height=max(60, 30 * len(states)),
                                              autosize=FIT_WIDTH)


# --- Metrics: what the settings gave ----------------------------------------------------------------

def _loss_scale(loss: pd.Series) -> alt.Scale:
    """One y scale for every panel, padded so no point sits on the frame."""
    lo, hi = float(loss.min()), float(loss.max())
    pad = (hi - lo) * 0.12 or abs(hi) * 0.1 or 0.1
    return alt.Scale(domain=[lo - pad, hi + pad], zero=False, nice=False)


def settings_panels(frame: pd.DataFrame, loss_title: str, colors: JobColors) -> list[alt.Chart]:
    """A scatter per hyperparameter (`metrics_view.settings_vs_loss`): setting against final loss, a point
    per job in its colour, the same loss scale in every panel. Panels are separate charts so a page can
    lay them side by side on a wide screen and stack them on a phone."""
    if frame.empty:
        return []
    y = alt.Y("loss:Q", title=loss_title, scale=_loss_scale(frame["loss"]))
    panels = []
    for parameter in dict.fromkeys(frame["parameter"]):
        data = colors.labelled(frame[frame["parameter"] == parameter])
        whole = bool((data["setting"] % 1 == 0).all())
        x_axis = alt.Axis(tickMinStep=1, format="d") if whole else alt.Axis(format=".2~f")
        panels.append(alt.Chart(data).mark_point(filled=True, size=150, opacity=0.9, stroke="white",
                                                 strokeWidth=1).encode(
            x=alt.X("setting:Q", title=parameter, axis=x_axis, scale=alt.Scale(zero=False, padding=24)),
            y=y,
            color=colors.encoding(colors.known(data), legend=False),
            tooltip=[alt.Tooltip("label:N", title="job"), alt.Tooltip("setting:Q", title=parameter),
                     alt.Tooltip("loss:Q", title=loss_title, format=".4f"), alt.Tooltip("status:N"),
                     alt.Tooltip("method:N")],
        ).properties(title=parameter, height=200, autosize=FIT_WIDTH))
    return panels
