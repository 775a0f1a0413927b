"""The Datasets page's histograms: tokens and messages per example, counted in whole-number bins.

Only altair and pandas here (no streamlit): a chart is plain data, so tests check its Vega-Lite spec.
The values are counts, so bins are pre-computed here with whole-number edges and every axis shows
whole numbers only (Altair's own binning splits 2..6 messages into half-message bins, and its count
axis ticks at 0.5 examples). Pre-binning also sends ~30 rows to the browser, not one per example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd

MAX_BINS = 30
HEIGHT = 160  # the plot's own height: axes and title come on top (FIT_WIDTH)
# Fit the column's width only: Streamlit's default ("fit") squeezes title and axes into the height,
# which left a 60 px plot.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
# Key of `DatasetReport.per_example` -> (chart title, the unit an x value counts).
SERIES = {
    "tokens": ("Tokens per example", "tokens"),
    "assistant_tokens": ("Trained tokens per example", "trained tokens"),
    "messages": ("Messages per example", "messages"),
}
# What is trained on, in each format's own words (reinforcement learns from a grader, not from written answers).
TRAINED = {"chat": "assistant tokens", "preference": "output tokens (both)", "legacy": "completion tokens"}
LEFT_OUT = {("messages", "legacy"), ("assistant_tokens", "reinforcement")}  # series that say nothing


def bin_counts(values: Sequence[int], max_bins: int = MAX_BINS) -> pd.DataFrame:
    """Examples per bin: `start`/`end` (whole numbers, end exclusive), `label` ("12" or "12–13") and `examples`.

    The bin width is the smallest round number (`nice_width`) that needs at most `max_bins` bins, and
    edges are multiples of it. A width of one draws a bar centred on each value (`left`/`right` = value ± 0.5)."""
    series = pd.Series(values, dtype="int64")
    if series.empty:
        return pd.DataFrame(columns=["start", "end", "left", "right", "label", "examples"])
    low, high = int(series.min()), int(series.max())
    width = nice_width(math.ceil((high - low + 1) / max_bins))
    first = low // width * width
    counts = ((series - first) // width).value_counts()
    starts = [first + i * width for i in range((high - first) // width + 1)]  # empty bins too: gaps show
    frame = pd.DataFrame({"start": starts, "end": [s + width for s in starts]})
    frame["examples"] = [int(counts.get(i, 0)) for i in range(len(starts))]
    frame["label"] = [f"{s:,}" if width == 1 else f"{s:,}–{s + width - 1:,}" for s in starts]
    # One value per bar: centred on its value, so the tick under a bar names it.
    shift = 0.5 if width == 1 else 0.0
    frame["left"], frame["right"] = frame["start"] - shift, frame["end"] - shift
    return frame


def nice_width(at_least: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 25, 50, 100, … that is at least `at_least` (bins read as round numbers)."""
    scale = 1
    while True:
        for step in (1, 2, 5, 10, 20, 25, 50):
            if step * scale >= at_least:
                return step * scale
        scale *= 100


def histogram(values: Sequence[int], title: str, unit: str) -> alt.Chart:
    """Bars of examples per whole-number bin of `values` (a count per example), whole-number ticks."""
    frame = bin_counts(values)
    whole = {"format": ",d", "tickMinStep": 1, "labelOverlap": "greedy"}  # never a tick between two integers
    pad = (frame["right"].iloc[0] - frame["left"].iloc[0]) / 2  # half a bar each side: end bars off the edges
    domain = [float(frame["left"].min() - pad), float(frame["right"].max() + pad)]
    return alt.Chart(frame).mark_bar(stroke="white", strokeWidth=0.5).encode(
        x=alt.X("left:Q", title=unit, scale=alt.Scale(domain=domain, nice=False), axis=alt.Axis(**whole)),
        x2="right:Q",
        y=alt.Y("examples:Q", title="examples", scale=alt.Scale(zero=True), axis=alt.Axis(**whole)),
        y2=alt.datum(0),  # bars stand on zero (with x2 set, Vega-Lite would otherwise draw a flat line)
        tooltip=[alt.Tooltip("label:N", title=unit), alt.Tooltip("examples:Q", title="examples", format=",d")],
    ).properties(title=title, height=HEIGHT, autosize=FIT_WIDTH)


@dataclass
class Histogram:
    """One distribution of the file: a chart, or one sentence when every example has the same value."""

    title: str
    chart: alt.Chart | None
    note: str = ""


def histograms(per_example: dict[str, Sequence[int]], fmt: str | None) -> list[Histogram]:
    """The report's per-example series; none for a series that is empty or says nothing (legacy examples
    have no messages; reinforcement examples train on no written answer)."""
    out = []
    for key, (title, unit) in SERIES.items():
        values = per_example.get(key)
        if not values or (key, fmt) in LEFT_OUT:
            continue
        if key == "assistant_tokens":
            unit = TRAINED.get(fmt or "", unit)
            title = f"{unit[0].upper()}{unit[1:]} per example"
        low, high = min(values), max(values)
        if low == high:  # a one-bar chart says less than a sentence
            out.append(Histogram(title, None, f"Every example has {low:,} {unit}."))
        else:
            out.append(Histogram(title, histogram(values, title, unit)))
    return out
