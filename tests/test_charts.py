"""ui.charts: the Vega-Lite specs the dashboard's Altair charts produce."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from ftsync import metrics_view as mv
from ftsync.ui import charts

NAN = float("nan")


def _spec(chart: alt.TopLevelMixin) -> dict:
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict()


def _rows(spec: dict, layer: dict) -> list[dict]:
    """A layer's inline rows; Altair lifts data the layers share to the top level."""
    return spec["datasets"][(layer.get("data") or spec["data"])["name"]]


@pytest.fixture
def long() -> pd.DataFrame:
    a = pd.DataFrame({"step": [1, 2, 3, 4], "train_loss": [1.0, 0.8, 0.6, 0.5], "valid_loss": [NAN, 0.9, NAN, 0.7],
                      "train_accuracy": [0.5, 0.6, 0.7, 0.8]})
    b = pd.DataFrame({"step": [1, 2], "train_loss": [2.0, 1.0], "full_valid_loss": [NAN, 1.5]})
    return mv.smooth(mv.tidy({"job-a": a, "job-b": b}, steps_per_epoch={"job-a": 2.0}), 0.5)


@pytest.fixture
def marks() -> pd.DataFrame:
    return pd.DataFrame({"job": ["job-a", "job-b", "job-other"], "step": [2, 2, 5],
                         "model": ["ft:a:ckpt-step-2", "ft:b:ckpt-step-2", "ft:x:ckpt-step-5"]})


def test_metrics_chart_lines_and_encodings(long):
    spec = _spec(charts.metrics_chart(long, "loss"))
    lines, points = spec["layer"]
    assert lines["mark"]["type"] == "line" and points["mark"]["type"] == "point"
    enc = lines["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("step", "quantitative")
    assert (enc["y"]["field"], enc["y"]["title"]) == ("value", "loss")
    assert enc["color"]["field"] == "label" and enc["strokeDash"]["field"] == "split"  # label: the job's legend name
    assert enc["strokeDash"]["scale"]["domain"] == ["train", "valid", "full_valid"]
    assert _colour_of(spec) == {"job-a": charts.JOB_PALETTE[0], "job-b": charts.JOB_PALETTE[1]}  # ids by default
    assert enc["y"]["scale"] == {"zero": False}
    assert spec["title"] == "loss"
    rows = _rows(spec, lines)
    assert len(rows) == 4 + 2 + 2 + 1  # loss rows only, NaN dropped by tidy
    assert {(r["job"], r["split"]) for r in rows} == {("job-a", "train"), ("job-a", "valid"), ("job-b", "train"),
                                                      ("job-b", "full_valid")}
    tooltip = [t["field"] for t in points["encoding"]["tooltip"]]
    assert tooltip == ["label", "split", "step", "epoch", "value", "raw"]


def test_metrics_chart_legend_selection_fades_and_x_zooms(long):
    spec = _spec(charts.metrics_chart(long, "loss"))
    params = {p["name"]: p for p in spec["params"]}
    assert params["job_pick"]["bind"] == "legend" and params["job_pick"]["select"]["fields"] == ["label"]
    assert params["split_pick"]["bind"] == "legend" and params["split_pick"]["select"]["fields"] == ["split"]
    zoom = [p for p in spec["params"] if p.get("bind") == "scales"]
    assert len(zoom) == 1 and zoom[0]["select"] == {"type": "interval", "encodings": ["x"]}
    opacity = spec["layer"][0]["encoding"]["opacity"]
    assert opacity["condition"][0]["test"] == {"and": [{"param": "job_pick"}, {"param": "split_pick"}]}
    assert opacity["value"] == charts.FADED < opacity["condition"][0]["value"]
    hover = params["hover"]["select"]
    assert hover["nearest"] is True and hover["on"] == "pointerover"


def test_metrics_chart_log_scale_epoch_axis_and_title(long):
    spec = _spec(charts.metrics_chart(long, "loss", x="epoch", log_scale=True, title="Loss"))
    enc = spec["layer"][0]["encoding"]
    assert enc["y"]["scale"] == {"type": "log"}
    assert enc["x"]["field"] == "epoch"
    assert {r["job"] for r in _rows(spec, spec["layer"][0])} == {"job-a"}  # job-b has no known epochs
    assert spec["title"] == "Loss"
    with pytest.raises(ValueError):
        charts.metrics_chart(long, "loss", x="time")


def test_metrics_chart_checkpoint_layer(long, marks):
    spec = _spec(charts.metrics_chart(long, "loss", checkpoints=marks))
    assert len(spec["layer"]) == 3
    rules = spec["layer"][2]
    assert rules["mark"]["type"] == "rule" and rules["encoding"]["x"]["field"] == "step"
    assert {t["field"] for t in rules["encoding"]["tooltip"]} >= {"model", "step", "label"}
    assert {r["model"] for r in _rows(spec, rules)} == {"ft:a:ckpt-step-2", "ft:b:ckpt-step-2"}  # charted jobs only
    assert rules["encoding"]["opacity"]["condition"][0]["param"] == "job_pick"

    by_epoch = _spec(charts.metrics_chart(long, "loss", x="epoch", checkpoints=marks))
    rules = by_epoch["layer"][2]
    assert rules["encoding"]["x"]["field"] == "epoch"
    assert [(r["job"], r["epoch"]) for r in _rows(by_epoch, rules)] == [("job-a", 1.0)]
    assert len(_spec(charts.metrics_chart(long, "loss", checkpoints=marks.iloc[2:]))["layer"]) == 2


def test_metrics_chart_without_smoothing_or_data(long):
    raw = long.drop(columns="raw")
    tooltip = _spec(charts.metrics_chart(raw, "accuracy"))["layer"][1]["encoding"]["tooltip"]
    assert "raw" not in [t["field"] for t in tooltip]
    empty = _spec(charts.metrics_chart(mv.tidy({}), "loss"))
    assert _rows(empty, empty["layer"][0]) == []


def test_histogram():
    spec = _spec(charts.histogram([1, 2, 3, NAN, 40], "tokens per example", bins=12))
    enc = spec["encoding"]
    assert spec["mark"]["type"] == "bar" and spec["title"] == "tokens per example"
    assert enc["x"]["bin"] == {"maxbins": 12} and enc["x"]["field"] == "value"
    assert enc["y"]["aggregate"] == "count"
    assert [r["value"] for r in spec["datasets"][spec["data"]["name"]]] == [1, 2, 3, 40]


def test_events_timeline():
    events = mv.events_frame([
        {"created_at": 1760847224, "level": "info", "type": "message", "message": "Created fine-tuning job"},
        {"created_at": 1760847300, "level": "warning", "type": "message", "message": "Slow"},
        {"created_at": 1760848289, "level": "error", "type": "metrics", "message": "Job failed"},
    ])
    spec = _spec(charts.events_timeline(events))
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("created_at", "temporal")
    assert enc["color"]["field"] == "level"
    assert dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"]))["error"] == "#e15759"
    assert "message" in [t["field"] for t in enc["tooltip"]]
    rows = spec["datasets"][spec["data"]["name"]]
    assert rows[0]["time"] == "2025-10-19 04:13:44 UTC"


# --- one colour per job, readable legends, 24-hour UTC, Home's charts, the settings panels -----------

def _colour_of(spec: dict) -> dict[str, str]:
    """label -> colour of the job colour scale of a chart (a layered one: its first layer's)."""
    color = (spec.get("layer") or [spec])[0]["encoding"]["color"]
    return dict(zip(color["scale"]["domain"], color["scale"]["range"]))


def _similar(a: str, b: str) -> bool:
    """Two colours of one hue family (dark and light blue, red and pink): saturated, hues under 25° apart."""
    import colorsys

    (ha, _, sa), (hb, _, sb) = (colorsys.rgb_to_hls(*(int(c[i:i + 2], 16) / 255 for i in (1, 3, 5))) for c in (a, b))
    gap = abs(ha - hb) * 360
    return min(sa, sb) >= 0.15 and min(gap, 360 - gap) < 25


def test_job_palette_gives_the_first_jobs_distinct_colours_in_selection_order():
    palette = charts.JOB_PALETTE
    assert len(set(palette)) == 10
    assert not any(_similar(a, b) for a, b in zip(palette, palette[1:]))  # never side by side
    first = palette[:5]  # the usual comparison: no two of one family
    assert not any(_similar(a, b) for i, a in enumerate(first) for b in first[i + 1:])
    assert _similar("#0068c9", "#83c9ff") and _similar("#ff2b2b", "#ffabab")  # Streamlit's default neighbours
    colors = charts.job_colors({"job-b": "b", "job-a": "a", "job-c": "c"})
    assert colors.range == list(charts.JOB_PALETTE[:3]) and colors.domain == ["b", "a", "c"]
    assert colors.color("job-a") == charts.JOB_PALETTE[1]
    many = charts.job_colors([f"job-{i}" for i in range(12)])
    assert many.color("job-10") == charts.JOB_PALETTE[0]  # past ten, the palette starts again


def test_a_job_keeps_its_colour_and_label_in_every_chart(long, marks):
    colors = charts.job_colors({"job-b": "tone · ftjob-…b", "job-a": "support · ftjob-…a"})
    loss = _spec(charts.metrics_chart(long, "loss", colors=colors, checkpoints=marks))
    accuracy = _spec(charts.metrics_chart(long, "accuracy", colors=colors))  # job-a only
    frame = pd.DataFrame({"job": ["job-a", "job-b"], "parameter": "n_epochs", "setting": [3.0, 4.0],
                          "loss": [0.4, 0.3], "status": "succeeded", "method": "supervised"})
    panel = _spec(charts.settings_panels(frame, "final train loss", colors)[0])
    expected = {"tone · ftjob-…b": charts.JOB_PALETTE[0], "support · ftjob-…a": charts.JOB_PALETTE[1]}
    assert _colour_of(loss) == expected
    assert _colour_of(accuracy) == {"support · ftjob-…a": charts.JOB_PALETTE[1]}  # drawn jobs only, same colour
    assert _colour_of(panel) == expected
    assert loss["layer"][2]["encoding"]["color"] == loss["layer"][0]["encoding"]["color"]  # checkpoints too
    assert {r["label"] for r in _rows(loss, loss["layer"][0])} == set(expected)


def test_job_legend_sits_below_the_chart_one_entry_a_line(long):
    spec = _spec(charts.metrics_chart(long, "loss"))
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["columns"] == 1 and legend["direction"] == "vertical"
    assert legend["labelLimit"] <= 330  # a phone's 390 px, less the page's margins and the symbol
    assert spec["layer"][0]["encoding"]["strokeDash"]["legend"]["orient"] == "top"
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}  # legends never squeeze the plot


def test_event_times_are_24_hour_utc():
    afternoon = mv.events_frame([{"created_at": 1760889900, "level": "info", "type": "message", "message": "a"},
                                 {"created_at": 1760891000, "level": "info", "type": "message", "message": "b"}])
    x = _spec(charts.events_timeline(afternoon))["encoding"]["x"]
    assert x["axis"]["format"] == "%H:%M" and x["axis"]["title"] == "time (UTC, 2025-10-19)"
    assert x["scale"]["type"] == "utc" and "formatType" not in x["axis"]  # a "time" format prints local time
    assert x["axis"]["labelFlush"] is True  # the last time ends inside the chart, not past a phone's edge
    days = mv.events_frame([{"created_at": 1760889900, "level": "info", "type": "message", "message": "a"},
                            {"created_at": 1761000000, "level": "info", "type": "message", "message": "b"}])
    axis = _spec(charts.events_timeline(days))["encoding"]["x"]["axis"]
    assert axis["format"] == "%d %b %H:%M" and axis["title"] == "time (UTC)"
    minutes = mv.events_frame([{"created_at": 1760889900 + i * 40, "level": "info", "type": "message",
                                "message": str(i)} for i in range(4)])
    assert _spec(charts.events_timeline(minutes))["encoding"]["x"]["axis"]["format"] == "%H:%M:%S"
    rows = _spec(charts.events_timeline(afternoon))
    assert rows["datasets"][rows["data"]["name"]][0]["time"] == "2025-10-19 16:05:00 UTC"


def test_jobs_over_time_stacks_statuses_in_their_colours():
    from ftsync import overview

    frame = overview.jobs_frame([
        {"id": "a", "status": "failed", "created_at": 1700000000, "sync_state": "synced"},
        {"id": "b", "status": "succeeded", "created_at": 1700003600, "sync_state": "not synced"},
        {"id": "c", "status": "running", "created_at": 1700600000, "sync_state": "partial"}])
    counts, unit = overview.jobs_over_time(frame)
    spec = _spec(charts.jobs_over_time(counts, unit, overview.status_order(frame["status"])))
    enc = spec["encoding"]
    assert spec["mark"]["type"] == "rect" and (enc["y"]["field"], enc["y2"]["field"]) == ("below", "top")
    assert (enc["x"]["field"], enc["x2"]["field"]) == ("period", "end") and enc["x"]["scale"]["type"] == "utc"
    assert dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"])) == {
        "succeeded": "#59a14f", "failed": "#e15759", "running": "#4e79a7"}
    assert enc["color"]["legend"]["orient"] == "bottom"
    assert spec["title"] == "Jobs created, by status" and enc["x"]["title"] == "created (UTC), per day"


def test_sync_states_chart_colours_each_state():
    from ftsync import overview

    summary = overview.sync_summary(pd.DataFrame({"sync_state": ["not synced", "synced", "failed", "synced"]}))
    spec = _spec(charts.sync_states(summary))
    bars, counts = spec["layer"]
    colours = dict(zip(bars["encoding"]["color"]["scale"]["domain"], bars["encoding"]["color"]["scale"]["range"]))
    assert colours == {"synced": "#59a14f", "failed": "#e15759", "not synced": "#bab0ac"}
    assert bars["encoding"]["y"]["sort"] == ["synced", "failed", "not synced"]
    assert counts["mark"]["type"] == "text" and spec["title"] == "Synced to W&B"


def test_settings_panels_share_the_loss_scale_and_name_the_parameter():
    frame = pd.DataFrame({"job": ["a", "b", "a", "b", "b"],
                          "parameter": ["n_epochs", "n_epochs", "learning_rate_multiplier",
                                        "learning_rate_multiplier", "beta"],
                          "setting": [3.0, 4.0, 1.8, 0.5, 0.1], "loss": [0.4, 0.2, 0.4, 0.2, 0.2],
                          "status": "succeeded", "method": ["supervised", "dpo"] * 2 + ["dpo"]})
    panels = [_spec(p) for p in charts.settings_panels(frame, "final validation loss", charts.job_colors(["a", "b"]))]
    assert [p["title"] for p in panels] == ["n_epochs", "learning_rate_multiplier", "beta"]
    domains = {tuple(p["encoding"]["y"]["scale"]["domain"]) for p in panels}
    assert len(domains) == 1 and min(next(iter(domains))) < 0.2 and max(next(iter(domains))) > 0.4
    assert panels[0]["encoding"]["x"]["axis"]["format"] == "d"  # whole epochs
    assert panels[0]["encoding"]["color"]["legend"] is None  # colours are the curves' legend's
    assert {t["field"] for t in panels[0]["encoding"]["tooltip"]} >= {"label", "setting", "loss", "status"}
    assert charts.settings_panels(frame.iloc[:0], "final train loss", charts.job_colors([])) == []
