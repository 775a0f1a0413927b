"""Home and Metrics as a new user meets them (issue #11), driven headless with AppTest in demo mode.

The navigation says Home; Home draws jobs over time by status and the sync states, says why jobs failed,
shows no delta arrows, no "None" and no server path, and copes with an account without jobs. Metrics
says why a failed job failed and shows its events without metrics, names an unknown deep-linked job
instead of showing another, and gives each job one colour and a readable legend in every chart.
"""

from __future__ import annotations

import datetime
import io
import json
import re

import pandas as pd
import pyarrow as pa
import pytest

from ftsync import overview
from ftsync.connection import build_connection
from ftsync.emulator import Emulator
from ftsync.emulator.workspace import Workspace
from ftsync.ledger import Ledger, SyncRecord

from .apptest import new_app, shown, texts

METRICS = "pages/3_Metrics.py"
LABEL = re.compile(r"^[\w.-]+ · ftjob-…\w{5}$")  # "support-v3 · ftjob-…85lIB"


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def demo_jobs() -> dict[tuple[str | None, str], dict]:
    """The demo's jobs by (suffix, status); the demo is the same on every machine."""
    with Emulator("demo") as emu:
        from openai import OpenAI

        listed = OpenAI(base_url=emu.base_url, api_key=emu.api_key).fine_tuning.jobs.list(limit=100).data
        return {(j.user_provided_suffix, j.status): j.model_dump(mode="json") for j in listed}


def _charts(at) -> list[tuple[dict, pd.DataFrame]]:
    """Every Vega-Lite chart on the page: (spec, its first dataset)."""
    out = []
    for el in at.get("vega_lite_chart"):
        data = None
        if el.proto.datasets:
            data = pa.ipc.open_stream(io.BytesIO(el.proto.datasets[0].data.data)).read_pandas()
        out.append((json.loads(el.proto.spec), data))
    return out


def _colour_scales(spec: dict) -> list[dict]:
    """Colour encodings of a spec and its layers."""
    parts = [spec, *spec.get("layer", [])]
    return [p["encoding"]["color"] for p in parts if "color" in p.get("encoding", {})]


def _metrics_page(*job_ids: str):
    at = new_app()
    at.query_params["job"] = list(job_ids) if len(job_ids) != 1 else job_ids[0]
    at.run()
    at.switch_page(METRICS).run()
    assert not at.exception, at.exception
    return at


# --- Home -------------------------------------------------------------------------------------------

def test_the_navigation_calls_the_entrypoint_home_and_titles_every_page():
    at = new_app()
    at.run()
    assert not at.exception
    # the pages st.navigation registered (AppTest keeps them to resolve switch_page)
    names = [info["page_name"] for info in at._registered_pages.values()]
    assert names == ["Home", "Connect", "Jobs", "Metrics", "Datasets", "History", "Models"]
    assert at.title[0].value == "ftsync"
    at.switch_page(METRICS).run()
    at.switch_page("app.py").run()  # Home is app.py itself: reachable by its file, like every page
    assert not at.exception and at.title[0].value == "ftsync"


def test_home_draws_jobs_over_time_by_status_and_the_sync_states():
    at = new_app()
    at.run()
    assert not at.exception
    (over_time, rows), (synced, states) = _charts(at)[:2]
    scale = over_time["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"]))
    assert colours["succeeded"] == "#59a14f" and colours["failed"] == "#e15759"  # green, red
    assert colours["cancelled"] == "#9d9d9d" and colours["running"] == "#4e79a7"  # grey, blue
    assert over_time["encoding"]["x"]["title"] == "created (UTC), per month"
    assert rows["jobs"].sum() == 33 and rows.groupby("status")["jobs"].sum()["failed"] == 4
    assert (rows["top"] - rows["below"] == rows["jobs"]).all()  # stacked bars
    assert list(states["state"]) == ["not synced"] and states["jobs"].sum() == 33
    assert synced["layer"][0]["encoding"]["color"]["scale"]["range"] == ["#bab0ac"]


def test_home_says_why_jobs_failed_with_a_link_to_their_events(demo_jobs):
    at = new_app()
    at.run()
    failed = demo_jobs[("support-v2", "failed")]
    assert "Line 7: the line is not valid JSON. (invalid_training_file)" in texts(at)
    links = [link.proto for link in at.get("page_link") if link.proto.query_string]
    assert f"job={failed['id']}" in [link.query_string for link in links]
    assert {link.page for link in links} == {"Metrics"}


def test_home_has_no_delta_arrows_no_none_and_no_server_path():
    at = new_app()
    at.run()
    assert [m.value for m in at.metric] == ["Demo", "offline"]
    assert all(not m.proto.delta for m in at.metric)  # a delta is what draws the "↑"
    # a sync that failed on a full disk: its message names a folder on the server
    conn = build_connection({}, demo_session=at.session_state["ftsync_session_token"])
    Ledger.in_home(conn.home).put(SyncRecord("", "OpenAI-Fine-Tune", "ftjob-abc", "failed", error="disk full"),
                                  action="dashboard", message="No space left: /srv/ftsync/wandb/offline-run-1/files")
    Ledger.in_home(conn.home).put(SyncRecord("", "OpenAI-Fine-Tune", "ftjob-def", "synced"), action="dashboard")
    at.run()
    table = at.dataframe[0].value
    assert list(table.columns) == ["when (UTC)", "job", "action", "outcome", "message"]
    assert "[server path]" in table["message"].iloc[1] and "/srv/" not in table.to_string()
    assert "None" not in table.astype(str).to_string() and table["message"].iloc[0] == overview.MISSING
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", table["when (UTC)"].iloc[0])
    assert "/srv/" not in texts(at) and "/tmp" not in texts(at)


def test_an_account_without_jobs_is_told_what_to_do():
    with Emulator(Workspace(), api_key="sk-empty") as emu:  # a workspace with no jobs at all
        at = new_app({"openai_api_key": "sk-empty", "openai_base_url": emu.base_url})
        at.run()
        assert not at.exception
        assert "No fine-tuning jobs yet" in texts(at) and "Datasets" in texts(at)
        assert not at.get("vega_lite_chart")
        at.switch_page(METRICS).run()
        assert not at.exception
        assert "No fine-tuning jobs yet" in texts(at)


# --- Metrics ----------------------------------------------------------------------------------------

def test_a_failed_job_without_metrics_shows_its_error_and_events(demo_jobs):
    failed = demo_jobs[("support-v2", "failed")]  # failed validating its file: no step ever ran
    at = _metrics_page(failed["id"])
    errors = [shown(e).replace("**", "") for e in at.error]  # the job's name is bold
    assert any("failed: The job failed due to a file format error" in e and "(invalid_training_file)" in e
               for e in errors)
    assert any("No metrics yet for support-v2 · ftjob-…" in shown(i) for i in at.info)
    events = at.dataframe[0].value
    assert list(events.columns) == ["time (UTC)", "message", "level", "type"]
    assert events["message"].iloc[0] == "The job failed"  # newest first
    timeline = _charts(at)[0][0]
    assert timeline["encoding"]["x"]["axis"]["format"] == "%H:%M:%S"  # 24-hour; its events span 2 minutes
    assert timeline["encoding"]["x"]["axis"]["title"].startswith("time (UTC")


def test_an_unknown_deep_linked_job_is_named_and_nothing_else_is_shown():
    at = _metrics_page("ftjob-NoSuchJob0000000000000000")
    assert any("Unknown job: ftjob-NoSuchJob0000000000000000" in shown(w) for w in at.warning)
    assert at.multiselect(key="metrics_jobs").value == []
    assert len(at.multiselect(key="metrics_jobs").options) == 33  # the list to pick from
    assert not at.get("vega_lite_chart")


def test_a_known_and_an_unknown_job_show_the_known_one_and_name_the_other(demo_jobs):
    job = demo_jobs[("support-v3", "succeeded")]
    at = _metrics_page(job["id"], "ftjob-NoSuchJob0000000000000000")
    assert any("ftjob-NoSuchJob0000000000000000" in shown(w) for w in at.warning)
    assert at.multiselect(key="metrics_jobs").value == [job["id"]]


def test_each_job_keeps_one_colour_and_a_readable_legend_in_every_chart(demo_jobs):
    picked = [demo_jobs[k]["id"] for k in (("support-v3", "succeeded"), ("support-v4", "succeeded"),
                                           ("orders-big", "failed"), ("support-v2", "failed"))]
    at = _metrics_page(*picked)
    colours: dict[str, str] = {}
    legends = []
    for spec, _ in _charts(at):
        for color in _colour_scales(spec):
            if color.get("field") != "label":
                continue
            for label, colour in zip(color["scale"]["domain"], color["scale"]["range"]):
                assert LABEL.match(label), label
                assert colours.setdefault(label, colour) == colour, f"{label} changes colour"
            if color.get("legend"):
                legends.append(color["legend"])
    assert len(colours) == 3  # support-v2 failed before any step: nothing to draw
    assert len(set(colours.values())) == 3  # three clearly different colours
    assert legends and all(lg["orient"] == "bottom" and lg["columns"] == 1 for lg in legends)


def test_metrics_compares_settings_with_the_final_validation_loss(demo_jobs):
    picked = [demo_jobs[k]["id"] for k in (("support-v3", "succeeded"), ("support-v4", "succeeded"),
                                           ("orders-big", "failed"))]
    at = _metrics_page(*picked)
    assert any(h.value == "What the settings gave" for h in at.subheader)
    panels = [(spec, data) for spec, data in _charts(at)
              if spec.get("encoding", {}).get("x", {}).get("field") == "setting"]
    assert [spec["title"] for spec, _ in panels] == ["n_epochs", "batch_size", "learning_rate_multiplier"]
    for spec, data in panels:
        assert spec["encoding"]["y"]["title"] == "final validation loss"
        assert len(data) == 3 and data["loss"].between(0, 5).all()
    batch = panels[1][1].set_index("job")["setting"]
    assert batch[picked[0]] == demo_jobs[("support-v3", "succeeded")]["hyperparameters"]["batch_size"]


def test_metrics_tables_show_no_none(demo_jobs):
    at = _metrics_page(demo_jobs[("orders-big", "failed")]["id"], demo_jobs[("support-v2", "failed")]["id"])
    for frame in (d.value for d in at.dataframe):  # a missing value shows as "None" in st.dataframe
        assert not frame.isna().any().any() and "None" not in frame.astype(str).to_string()


def test_home_says_which_models_stop_serving_soon_most_urgent_first():
    """The demo's gpt-4o / gpt-4.1 fine-tunes serve until 2027-01-14; its gpt-4.1-nano, o4-mini,
    gpt-3.5 and babbage/davinci ones stopped on 2026-10-23 (the dates OpenAI announced)."""
    at = new_app()
    at.run()
    assert not at.exception
    [warning] = [w.value.replace("\\", "") for w in at.warning if "stop serving" in w.value]  # markdown escapes off
    days = (datetime.date(2027, 1, 14) - datetime.datetime.now(datetime.timezone.utc).date()).days
    if 0 < days <= 60:
        assert re.search(rf"\d+ models stop serving within 60 days, 0 of them recorded: .*\(2027-01-14, {days} days\)",
                         warning)
    assert re.search(r"\d+ no longer serve", warning) and "ftsync record" in warning


def test_the_deadline_line_counts_recorded_models_and_orders_by_urgency():
    rows = [{"id": "ftjob-a", "suffix": "late", "fine_tuned_model": "ft:a", "serves_until": "2027-01-20", "days_left": 48,
             "recorded": 0},
            {"id": "ftjob-b", "suffix": None, "fine_tuned_model": "ft:b", "serves_until": "2027-01-14", "days_left": 42,
             "recorded": 30},
            {"id": "ftjob-c", "suffix": "old", "fine_tuned_model": "ft:c", "serves_until": "2026-10-23", "days_left": -41,
             "recorded": 0},
            {"id": "ftjob-d", "suffix": "far", "fine_tuned_model": "ft:d", "serves_until": "2027-09-01", "days_left": 272,
             "recorded": 0}]
    assert overview.serving_deadlines(rows) == ("2 models stop serving within 60 days, 1 of them recorded: "
                                                "ftjob-b (2027-01-14, 42 days), late (2027-01-20, 48 days). "
                                                "1 no longer serves.")
    assert overview.serving_deadlines(rows[3:]) is None
