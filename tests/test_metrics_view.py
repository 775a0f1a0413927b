"""metrics_view: canonical names, the long frame, epochs, smoothing, LTTB downsampling and the tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftsync import metrics_view as mv
from ftsync.snapshot import hyperparameters_of
from ftsync.source import fetch_snapshot, retrieve_job

from .helpers import demo_job

NAN = float("nan")


# --- canonical names --------------------------------------------------------------------------------

@pytest.mark.parametrize("column, rft, expected", [
    ("train_loss", False, ("loss", "train")),
    ("train_accuracy", False, ("accuracy", "train")),
    ("train_mean_token_accuracy", False, ("accuracy", "train")),
    ("valid_loss", False, ("loss", "valid")),
    ("valid_mean_token_accuracy", False, ("accuracy", "valid")),
    ("validation_mean_token_accuracy", False, ("accuracy", "valid")),
    ("full_valid_loss", False, ("loss", "full_valid")),
    ("full_valid_mean_token_accuracy", False, ("accuracy", "full_valid")),
    ("train_mean_reward", True, ("reward", "train")),
    ("full_valid_mean_reward", True, ("reward", "valid")),
    ("full_valid_mean_parse_error", True, ("mean_parse_error", "valid")),
    ("scores/train_reward_mean", True, ("scores/reward_mean", "train")),
    ("scores/valid_reward_mean", True, ("scores/reward_mean", "valid")),
    ("scores/graders/exact/train_reward_mean", True, ("scores/graders/exact/reward_mean", "train")),
    ("usage/samples/train_reasoning_tokens_mean", True, ("usage/samples/reasoning_tokens_mean", "train")),
    ("reasoning_tokens_mean", True, ("reasoning_tokens_mean", "other")),
    ("completion_tokens_mean", True, ("completion_tokens_mean", "other")),
    ("timing/step/sampling", True, ("timing/step/sampling", "other")),
    ("train_", False, ("train_", "other")),
])
def test_canonical_names(column, rft, expected):
    assert mv.canonical(column, rft=rft) == expected


def test_canonical_follows_results_metric_aliases(monkeypatch):
    for alias, name in mv.METRIC_ALIASES.items():
        assert mv.canonical(alias) == mv.canonical(name)
    monkeypatch.setitem(mv.METRIC_ALIASES, "train_tok_acc", "train_mean_token_accuracy")  # a future spelling
    assert mv.canonical("train_tok_acc") == ("accuracy", "train")


def test_aliases_merge_across_jobs_and_within_a_frame():
    openai = pd.DataFrame({"step": [1, 2], "train_loss": [1.0, 0.5], "train_accuracy": [0.5, 0.6]})
    azure = pd.DataFrame({"step": [1, 2], "train_mean_token_accuracy": [0.7, 0.8]})
    both = pd.DataFrame({"step": [1, 2], "train_accuracy": [0.1, NAN], "train_mean_token_accuracy": [0.9, 0.2]})
    long = mv.tidy({"a": openai, "b": azure, "c": both})
    acc = long[long["metric"] == "accuracy"]
    assert set(acc["split"]) == {"train"}
    assert acc.groupby("job")["value"].apply(list).to_dict() == {"a": [0.5, 0.6], "b": [0.7, 0.8], "c": [0.1, 0.2]}


def test_tidy_shape_order_and_nan_dropped():
    frame = pd.DataFrame({"step": [1, 2, 3], "valid_loss": [NAN, NAN, 0.9], "train_loss": [1.0, 0.8, 0.7],
                          "full_valid_loss": [NAN, NAN, 0.95]})
    long = mv.tidy({"z-job": frame, "a-job": frame.iloc[:1]})
    assert list(long.columns) == mv.LONG_COLUMNS
    assert long["step"].dtype == "int64" and long["value"].dtype == "float64"
    assert not long["value"].isna().any()
    assert list(long["job"].unique()) == ["z-job", "a-job"]  # the order given, not alphabetical
    z = long[long["job"] == "z-job"]
    assert list(zip(z["split"], z["step"])) == [("full_valid", 3), ("train", 1), ("train", 2), ("train", 3),
                                                ("valid", 3)]
    assert z["epoch"].isna().all()
    assert mv.tidy({}).columns.tolist() == mv.LONG_COLUMNS
    assert mv.tidy({"empty": pd.DataFrame({"step": pd.Series([], dtype="int64")})}).empty


def test_rft_frame_has_train_and_valid_only():
    frame = pd.DataFrame({"step": [1, 5], "train_mean_reward": [0.2, 0.4], "full_valid_mean_reward": [NAN, 0.5],
                          "scores/valid_reward_mean": [NAN, 0.5], "reasoning_tokens_mean": [3000.0, 2900.0]})
    long = mv.tidy({"rft": frame})
    assert set(zip(long["metric"], long["split"])) == {
        ("reward", "train"), ("reward", "valid"), ("scores/reward_mean", "valid"), ("reasoning_tokens_mean", "other")}


# --- epochs -----------------------------------------------------------------------------------------

SUPERVISED = {
    "id": "ftjob-sup", "model": "gpt-4.1-mini-2025-04-14", "status": "succeeded", "seed": 42,
    "user_provided_suffix": "orders-v3", "trained_tokens": 15000, "training_file": "file-train",
    "validation_file": "file-valid",
    "hyperparameters": {"batch_size": 1, "learning_rate_multiplier": 2.0, "n_epochs": 3},
    "method": {"type": "supervised", "supervised": {"hyperparameters": {
        "batch_size": 1, "learning_rate_multiplier": 2.0, "n_epochs": 3}}},
}
DPO = {
    "id": "ftjob-dpo", "model": "gpt-4.1-mini-2025-04-14", "status": "running", "seed": 7,
    "user_provided_suffix": "tone-v3", "trained_tokens": None, "training_file": "file-prefs",
    "validation_file": None, "hyperparameters": None,
    "method": {"type": "dpo", "dpo": {"hyperparameters": {
        "batch_size": 2, "beta": 0.1, "learning_rate_multiplier": 1.19, "n_epochs": 4}}, "supervised": None},
}


def test_steps_per_epoch_reads_top_level_or_method_hyperparameters():
    assert mv.steps_per_epoch(SUPERVISED, 150) == 50.0
    assert mv.steps_per_epoch(DPO, 180) == 45.0  # only under method.dpo
    legacy = {"hyperparameters": {"n_epochs": 2}}  # no method at all
    assert mv.steps_per_epoch(legacy, 100) == 50.0
    auto = {"hyperparameters": {"n_epochs": "auto"}, "method": {"type": "supervised", "supervised": None}}
    assert mv.steps_per_epoch(auto, 100) is None
    assert mv.steps_per_epoch(SUPERVISED, None) is None
    assert mv.steps_per_epoch(SUPERVISED, 0) is None


def test_planned_total_steps_prefers_events_over_last_step():
    events = [{"type": "message", "data": {}},
              {"type": "metrics", "data": {"step": 1, "total_steps": 360, "train_loss": 1.9}}]
    metrics = pd.DataFrame({"step": [1, 2, 162]})
    assert mv.planned_total_steps(events, metrics) == 360  # a cancelled job stopped at 162
    assert mv.planned_total_steps([], metrics) == 162
    assert mv.planned_total_steps([]) is None


def test_epoch_column_from_steps_per_epoch():
    frame = pd.DataFrame({"step": [1, 50, 100, 150], "train_loss": [1.0, 0.5, 0.3, 0.2]})
    long = mv.tidy({"known": frame, "unknown": frame}, steps_per_epoch={"known": 50.0})
    known = long[long["job"] == "known"]
    assert known["epoch"].tolist() == pytest.approx([0.02, 1.0, 2.0, 3.0])
    assert long[long["job"] == "unknown"]["epoch"].isna().all()


# --- smoothing --------------------------------------------------------------------------------------

def _long(job: str, values: list[float], metric: str = "loss", split: str = "train") -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame({"job": [job] * n, "step": np.arange(1, n + 1), "epoch": [NAN] * n,
                         "metric": [metric] * n, "split": [split] * n, "value": values})


def test_smooth_is_debiased_ema_per_series():
    # TensorBoard, weight 0.5 on [1, 2, 3]: last = .5, 1.25, 2.125; debias by .5, .75, .875
    a, b = _long("a", [1.0, 2.0, 3.0]), _long("b", [10.0, 10.0, 10.0])
    mixed = pd.concat([a, b]).sort_values("step", kind="stable")  # series interleaved
    out = mv.smooth(mixed, 0.5)
    assert out.index.tolist() == mixed.index.tolist()  # input order kept
    got = out[out["job"] == "a"]["value"].tolist()
    assert got == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert out[out["job"] == "b"]["value"].tolist() == pytest.approx([10.0] * 3)  # constant stays constant
    assert out[out["job"] == "a"]["raw"].tolist() == [1.0, 2.0, 3.0]


def test_smooth_restarts_from_raw_and_rejects_bad_weights():
    long = _long("a", [1.0, 5.0, 2.0, 8.0])
    once = mv.smooth(long, 0.9)
    assert mv.smooth(once, 0.3)["value"].tolist() == pytest.approx(mv.smooth(long, 0.3)["value"].tolist())
    assert mv.smooth(once, 0.0)["value"].tolist() == [1.0, 5.0, 2.0, 8.0]
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError):
            mv.smooth(long, bad)


# --- downsampling -----------------------------------------------------------------------------------

def _reference_lttb(x: list[float], y: list[float], threshold: int) -> list[int]:
    """Steinarsson's LTTB, written plainly, to check the vectorised one against."""
    n, every, a, out = len(x), (len(x) - 2) / (threshold - 2), 0, [0]
    for i in range(threshold - 2):
        lo, hi = int(i * every) + 1, int((i + 1) * every) + 1
        nlo, nhi = hi, min(int((i + 2) * every) + 1, n)
        cx, cy = sum(x[nlo:nhi]) / (nhi - nlo), sum(y[nlo:nhi]) / (nhi - nlo)
        areas = [abs((x[a] - cx) * (y[j] - y[a]) - (x[a] - x[j]) * (cy - y[a])) for j in range(lo, hi)]
        a = lo + areas.index(max(areas))
        out.append(a)
    return out + [n - 1]


def test_lttb_matches_the_reference_algorithm():
    rng = np.random.default_rng(1)
    for n, k in [(1000, 100), (1001, 1000), (777, 13)]:
        x, y = np.arange(n, dtype=float), rng.normal(size=n).cumsum()
        assert mv.lttb_indices(x, y, k).tolist() == _reference_lttb(x.tolist(), y.tolist(), k)


def test_downsample_keeps_ends_and_extremes_of_a_spiky_series():
    rng = np.random.default_rng(0)
    values = rng.normal(0, 0.01, 20_000)
    values[1234], values[15_000] = 5.0, -4.0
    long = pd.concat([_long("spiky", values.tolist()), _long("short", [1.0, 2.0, 3.0])], ignore_index=True)
    out = mv.downsample(long, max_points=400)
    spiky = out[out["job"] == "spiky"]
    assert len(spiky) == 400
    assert spiky["step"].iloc[0] == 1 and spiky["step"].iloc[-1] == 20_000
    assert spiky["value"].max() == 5.0 and spiky["value"].min() == -4.0
    assert out[out["job"] == "short"]["value"].tolist() == [1.0, 2.0, 3.0]  # short series untouched
    assert mv.downsample(long, max_points=30_000) is long


def test_downsample_rejects_fewer_than_three_points():
    with pytest.raises(ValueError):
        mv.downsample(_long("a", [1.0, 2.0, 3.0, 4.0]), max_points=2)


def test_downsample_long_runs_per_series():
    rng = np.random.default_rng(2)
    n = 100_000
    jobs = pd.Series(np.repeat(np.array([f"job{j}" for j in range(10)], dtype=object), n), dtype="str")
    long = pd.DataFrame({"job": jobs, "step": np.tile(np.arange(n), 10), "metric": "loss", "split": "train",
                         "value": rng.normal(size=10 * n).cumsum()})
    out = mv.downsample(long, 1500)  # its speed is measured in benchmarks/metrics_bench.py
    assert len(out) == 15_000
    for _, series in out.groupby("job"):
        assert series["step"].iloc[0] == 0 and series["step"].iloc[-1] == n - 1 and len(series) == 1500


series_values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=120)


@settings(max_examples=30, deadline=None)
@given(series=st.lists(series_values, min_size=1, max_size=4), max_points=st.integers(3, 60), seed=st.integers(0, 9))
def test_downsample_properties(series, max_points, seed):
    long = pd.concat([_long(f"j{i}", values) for i, values in enumerate(series)], ignore_index=True)
    long = long.sample(frac=1.0, random_state=seed)  # rows in no particular order
    out = mv.downsample(long, max_points)
    assert len(out) <= len(long)
    positions = long.index.get_indexer(out.index)
    assert (positions >= 0).all() and (np.diff(positions) > 0).all()  # a subsequence: order kept
    assert out.equals(long.loc[out.index])  # rows unchanged
    for i, values in enumerate(series):
        kept = out["step"][out["job"] == f"j{i}"].tolist()
        assert len(kept) == min(len(values), max_points)
        assert {1, len(values)} <= set(kept)  # first and last steps survive


# --- csv and tables ---------------------------------------------------------------------------------

def test_metrics_csv_is_long_and_round_trips():
    long = mv.smooth(mv.tidy({"a": pd.DataFrame({"step": [1, 2], "train_loss": [1.0, 0.5]})},
                             steps_per_epoch={"a": 2.0}), 0.5)
    back = pd.read_csv(io.BytesIO(mv.metrics_csv(long)))
    assert back.columns.tolist() == [*mv.LONG_COLUMNS, "raw"]
    assert back["raw"].tolist() == [1.0, 0.5] and back["epoch"].tolist() == [0.5, 1.0]


def test_hyperparameter_table_supervised_and_dpo():
    table = mv.hyperparameter_table([SUPERVISED, DPO])
    assert table.columns.tolist() == ["ftjob-sup", "ftjob-dpo"]
    assert table.index.tolist()[:len(mv.HYPERPARAMETER_ROWS)] == list(mv.HYPERPARAMETER_ROWS)
    sup, dpo = table["ftjob-sup"], table["ftjob-dpo"]
    assert (sup["method"], sup["n_epochs"], sup["learning_rate_multiplier"], sup["beta"]) == ("supervised", "3", "2.0",
                                                                                              None)
    assert (dpo["method"], dpo["n_epochs"], dpo["batch_size"], dpo["beta"]) == ("dpo", "4", "2", "0.1")
    assert (sup["suffix"], sup["seed"], sup["trained_tokens"], sup["validation_file"]) == ("orders-v3", "42", "15000",
                                                                                           "file-valid")
    assert dpo["trained_tokens"] is None and dpo["validation_file"] is None and dpo["status"] == "running"


def test_hyperparameter_table_adds_method_specific_rows():
    rft = {"id": "ftjob-rft", "method": {"type": "reinforcement", "reinforcement": {"hyperparameters": {
        "n_epochs": 2, "eval_interval": 5, "reasoning_effort": "medium"}}}}
    table = mv.hyperparameter_table([SUPERVISED, rft])
    assert table.loc["reasoning_effort"].tolist() == [None, "medium"]
    assert table.loc["eval_interval", "ftjob-rft"] == "5"


def test_events_and_checkpoints_frames():
    events = [{"created_at": 1760847224, "level": "info", "type": "message", "message": "Created", "data": {}},
              {"created_at": 1760848289, "level": "error", "type": "message", "message": "Failed"}]
    frame = mv.events_frame(events)
    assert frame.columns.tolist() == ["created_at", "level", "type", "message"]
    assert frame["created_at"].iloc[0] == pd.Timestamp("2025-10-19 04:13:44", tz="UTC")
    assert frame["level"].tolist() == ["info", "error"]
    assert mv.events_frame([]).columns.tolist() == frame.columns.tolist()

    checkpoints = [
        {"step_number": 100, "fine_tuned_model_checkpoint": "ft:m:ckpt-step-100", "created_at": 1760848106,
         "metrics": {"step": 100.0, "train_loss": 0.2, "valid_loss": None, "train_reward_mean": None}},
        {"step_number": 50, "fine_tuned_model_checkpoint": "ft:m:ckpt-step-50", "created_at": 1760847923,
         "metrics": {"step": 50.0, "train_loss": 0.5, "valid_loss": 0.7, "train_reward_mean": None}},
    ]
    ck = mv.checkpoints_frame(checkpoints)
    assert ck.columns.tolist() == ["step_number", "fine_tuned_model_checkpoint", "created_at", "train_loss",
                                   "valid_loss"]  # all-null metrics dropped
    assert ck["step_number"].tolist() == [50, 100]
    assert ck["valid_loss"].iloc[1] != ck["valid_loss"].iloc[1]  # NaN
    assert str(ck["created_at"].dt.tz) == "UTC"
    marks = mv.checkpoint_markers({"j": checkpoints})
    assert marks.to_dict("list") == {"job": ["j", "j"], "step": [100, 50],
                                     "model": ["ft:m:ckpt-step-100", "ft:m:ckpt-step-50"]}


# --- real frames from the emulator ------------------------------------------------------------------

def test_real_demo_frames(demo, client):
    rft = fetch_snapshot(client, retrieve_job(client, demo_job(demo, status="succeeded", method="reinforcement")),
                         None, log_datasets=False)
    dpo = fetch_snapshot(client, retrieve_job(client, demo_job(demo, status="succeeded", method="dpo")),
                         None, log_datasets=False)
    snaps = [rft, dpo]
    per_epoch = {s.id: mv.steps_per_epoch(s.job, mv.planned_total_steps(s.events, s.metrics)) for s in snaps}
    assert all(v and v > 0 for v in per_epoch.values())
    long = mv.tidy({s.id: s.metrics for s in snaps}, steps_per_epoch=per_epoch)
    pairs = {job: set(zip(g["metric"], g["split"])) for job, g in long.groupby("job")}
    assert {("reward", "train"), ("reward", "valid"), ("scores/reward_mean", "valid")} <= pairs[rft.id]
    assert {split for _, split in pairs[rft.id]} <= {"train", "valid", "other"}
    assert {("loss", "train"), ("accuracy", "train"), ("loss", "valid"), ("accuracy", "valid")} <= pairs[dpo.id]
    last = long[long["job"] == dpo.id]["epoch"].max()
    assert last == pytest.approx(float(hyperparameters_of(dpo.job)["n_epochs"]))


# --- legend names, why a job failed, settings against the final loss, tables for display ------------

def test_job_labels_are_short_unique_and_in_order():
    nano = {"id": "ftjob-ZrH6QPvN1mFHj9LpS1cj0lzf", "user_provided_suffix": None, "model": "gpt-4.1-nano-2025-04-14"}
    orders = {"id": "ftjob-VNAvwipz9r3Qph7GSxzSBgsA", "user_provided_suffix": "orders-v3", "model": "gpt-4.1"}
    labels = mv.job_labels([orders, nano])
    assert labels == {orders["id"]: "orders-v3 · ftjob-…SBgsA",
                      nano["id"]: "gpt-4.1-nano-2025-04-14 · ftjob-…j0lzf"}  # the base model without a suffix
    twin = {"id": "ftjob-aaaaaaaaaaaaaaaaaaaSBgsA", "user_provided_suffix": "orders-v3"}  # same suffix and tail
    labels = mv.job_labels([orders, twin, nano])
    assert list(labels) == [orders["id"], twin["id"], nano["id"]]
    assert labels[orders["id"]] == "orders-v3 · ftjob-…SxzSBgsA"  # the clash shows more of every id
    assert labels[twin["id"]] == "orders-v3 · ftjob-…aaaSBgsA" and len(set(labels.values())) == 3
    assert mv.short_id("ftjob-abc") == "ftjob-abc"
    long_suffix = mv.job_labels([{"id": "ftjob-x", "user_provided_suffix": "s" * 60}])["ftjob-x"]
    assert len(long_suffix) < 45 and "…" in long_suffix


def test_job_error_says_message_and_code_and_nothing_for_healthy_jobs():
    assert mv.job_error({"error": {"code": "invalid_training_file", "message": "Line 7 is not JSON.",
                                   "param": "training_file"}}) == "Line 7 is not JSON. (invalid_training_file)"
    assert mv.job_error({"error": {"code": "exceeded_quota", "message": None}}) == "exceeded_quota"
    assert mv.job_error({"error": {}}) is None and mv.job_error({"error": None}) is None and mv.job_error({}) is None


def test_final_losses_compare_like_with_like():
    a = pd.DataFrame({"step": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "valid_loss": [NAN, 0.9, 0.8],
                      "full_valid_loss": [NAN, NAN, 0.7]})
    b = pd.DataFrame({"step": [1, 2], "train_loss": [2.0, 1.0], "valid_loss": [1.5, 1.2]})
    c = pd.DataFrame({"step": [1, 2], "train_loss": [3.0, 0.3]})  # no validation file
    both, name = mv.final_losses(mv.tidy({"a": a, "b": b}))
    assert name == "final validation loss"
    assert both.set_index("job")["loss"].to_dict() == {"a": 0.7, "b": 1.2}  # the full validation set first
    mixed, name = mv.final_losses(mv.tidy({"a": a, "b": b, "c": c}))
    assert name == "final train loss" and mixed.set_index("job")["loss"].to_dict() == {"a": 0.4, "b": 1.0, "c": 0.3}
    smoothed = mv.smooth(mv.tidy({"c": c}), 0.9)  # the last value as logged, not the smoothed curve
    assert mv.final_losses(smoothed)[0]["loss"].tolist() == [0.3]
    assert mv.final_losses(mv.tidy({}))[0].empty


def test_settings_vs_loss_rows_per_numeric_hyperparameter():
    dpo = DPO | {"status": "succeeded"}
    auto = SUPERVISED | {"id": "ftjob-auto", "hyperparameters": {"n_epochs": "auto", "batch_size": 4},
                         "method": {"type": "supervised", "supervised": None}}
    long = mv.tidy({"ftjob-sup": pd.DataFrame({"step": [1, 2], "train_loss": [1.0, 0.6]}),
                    "ftjob-dpo": pd.DataFrame({"step": [1], "train_loss": [0.5]}),
                    "ftjob-auto": pd.DataFrame({"step": [1], "train_loss": [0.9]})})
    frame, name = mv.settings_vs_loss([SUPERVISED, dpo, auto], long)
    assert name == "final train loss"
    assert list(frame.columns) == ["job", "parameter", "setting", "loss", "status", "method"]
    by = frame.set_index(["job", "parameter"])
    assert by.loc[("ftjob-sup", "n_epochs"), "setting"] == 3 and by.loc[("ftjob-sup", "n_epochs"), "loss"] == 0.6
    assert by.loc[("ftjob-dpo", "beta"), "setting"] == 0.1 and by.loc[("ftjob-dpo", "beta"), "method"] == "dpo"
    assert ("ftjob-auto", "n_epochs") not in by.index and by.loc[("ftjob-auto", "batch_size"), "setting"] == 4
    assert ("ftjob-sup", "beta") not in by.index


def test_display_frame_prints_utc_24_hour_and_no_none():
    events = mv.events_frame([{"created_at": 1760889900, "level": "info", "type": "message", "message": None},
                              {"created_at": None, "level": "info", "type": "metrics", "message": "Step 1"}])
    shown = mv.display_frame(events)
    assert list(shown.columns) == ["created_at (UTC)", "level", "type", "message"]
    assert shown["created_at (UTC)"].tolist() == ["2025-10-19 16:05:00", mv.MISSING]
    assert shown["message"].tolist() == [mv.MISSING, "Step 1"]
    numbers = mv.display_frame(pd.DataFrame({"loss": [0.25, NAN], "step": [1, 2]}))
    assert numbers["loss"].tolist() == ["0.25", mv.MISSING] and numbers["step"].tolist() == [1, 2]
    listed = mv.events_table(events)
    assert list(listed.columns) == ["time (UTC)", "message", "level", "type"]
    assert listed["message"].tolist() == ["Step 1", mv.MISSING]  # newest (last received) first
    table = mv.display_frame(mv.hyperparameter_table([DPO]))
    assert "None" not in table.to_string() and table.loc["trained_tokens", "ftjob-dpo"] == mv.MISSING


def test_a_long_job_s_events_are_thinned_for_the_timeline_and_the_table_lists_the_newest():
    """A 100,000-step job has an event per step: the timeline draws at most 500 of each type, evenly
    spread with the first and last kept, and every event of rarer types; the table the newest 2,000."""
    events = mv.events_frame([{"created_at": 1760889900 + i, "level": "info", "type": "metrics" if i % 10 else "message",
                               "message": str(i)} for i in range(100_000)])
    drawn = mv.timeline_events(events)
    metrics = drawn[drawn["type"] == "metrics"]
    assert drawn.groupby("type").size().to_dict() == {"message": 500, "metrics": 500}
    assert metrics["message"].iloc[0] == "1" and metrics["message"].iloc[-1] == "99999"
    gaps = metrics["created_at"].diff().dropna().dt.total_seconds()
    assert gaps.min() >= 190 and gaps.max() <= 220  # evenly spread: about 100,000 / 500 s apart
    few = events.iloc[:700]
    assert len(mv.timeline_events(few)) == 500 + 70  # the 70 "message" events all kept
    assert mv.timeline_events(events.iloc[:40]).equals(events.iloc[:40])
    listed = mv.events_table(events)
    assert len(listed) == 2000 and listed["message"].iloc[0] == "99999"
