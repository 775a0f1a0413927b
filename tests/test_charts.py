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
    assert enc["color"]["field"] == "job" and enc["strokeDash"]["field"] == "split"
    assert enc["strokeDash"]["scale"]["domain"] == ["train", "valid", "full_valid"]
    assert enc["y"]["scale"] == {"zero": False}
    assert spec["title"] == "loss"
    rows = _rows(spec, lines)
    assert len(rows) == 4 + 2 + 2 + 1  # loss rows only, NaN dropped by tidy
    assert {(r["job"], r["split"]) for r in rows} == {("job-a", "train"), ("job-a", "valid"), ("job-b", "train"),
                                                      ("job-b", "full_valid")}
    tooltip = [t["field"] for t in points["encoding"]["tooltip"]]
    assert tooltip == ["job", "split", "step", "epoch", "value", "raw"]


def test_metrics_chart_legend_selection_fades_and_x_zooms(long):
    spec = _spec(charts.metrics_chart(long, "loss"))
    params = {p["name"]: p for p in spec["params"]}
    assert params["job_pick"]["bind"] == "legend" and params["job_pick"]["select"]["fields"] == ["job"]
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
    assert {t["field"] for t in rules["encoding"]["tooltip"]} >= {"model", "step", "job"}
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
    assert dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"]))["error"] == "#e45756"
    assert "message" in [t["field"] for t in enc["tooltip"]]
    rows = spec["datasets"][spec["data"]["name"]]
    assert rows[0]["time"] == "2025-10-19 04:13:44 UTC"
