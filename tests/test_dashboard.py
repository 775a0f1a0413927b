"""The dashboard's pages, driven headless with Streamlit's AppTest (real emulator, W&B offline)."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest
import streamlit as st

from ftsync.emulator import Emulator
from ftsync.wandb_offline import offline_runs

from .apptest import PAGES, new_app, pick_rows, shown, texts, wait_for_syncs

@pytest.fixture(autouse=True)
def _isolated(sync_env, monkeypatch, tmp_path):
    """Caches are process-global and AppTest sessions share one id: start each test clean (FTSYNC_HOME in tmp)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders_in_demo_mode(page):
    at = new_app()
    at.run()
    assert not at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    assert "Demo mode" in texts(at)


def test_home_counts_demo_jobs():
    at = new_app()
    at.run()
    assert [m.value for m in at.metric][:2] == ["Demo", "offline"]
    assert any("33 fine-tuning jobs" in h.value for h in at.subheader)
    over_time = at.get("vega_lite_chart")[0]  # jobs created per period, stacked by status
    rows = pa.ipc.open_stream(io.BytesIO(over_time.proto.datasets[0].data.data)).read_pandas()
    assert rows.groupby("status")["jobs"].sum()["succeeded"] >= 20


def test_a_bad_key_is_one_clear_message_and_never_shown():
    with Emulator("demo", api_key="sk-right-key") as emu:
        at = new_app({"openai_api_key": "sk-wrong-key-0123456789", "openai_base_url": emu.base_url})
        at.run()
        assert not at.exception
        assert [shown(e) for e in at.error] == [
            "OpenAI rejected the API key (401 invalid_api_key); check the key and base URL"]
        at.switch_page("pages/1_Connect.py").run()
        at.button(key="connect_test").click().run()
        assert any(shown(e).startswith("OpenAI: OpenAI rejected the API key") for e in at.error)
        assert "sk-wrong-key-0123456789" not in repr(at._tree)


def test_connect_saves_keys_in_the_session_only_and_forgets_them():
    with Emulator("demo", api_key="sk-team") as emu:
        at = new_app()
        at.run()
        at.switch_page("pages/1_Connect.py").run()
        at.text_input(key="connect_openai_key").input("sk-team")
        at.text_input(key="connect_base_url").input(emu.base_url)
        at.button[0].click().run()  # the form's Save
        assert not at.exception
        assert at.session_state["ftsync_inputs"]["openai_api_key"] == "sk-team"
        assert "Demo mode" not in texts(at)
        at.button(key="connect_test").click().run()
        assert any(shown(s).startswith("OpenAI: connected") for s in at.success)
        at.button(key="connect_forget").click().run()
        assert "openai_api_key" not in at.session_state["ftsync_inputs"]
        assert "Demo mode" in texts(at)


def test_syncing_from_the_jobs_page_marks_the_job_synced_with_its_metrics(tmp_path):
    at = new_app()
    at.run()
    at.switch_page("pages/2_Jobs.py").run()
    table = at.dataframe[0].value
    job_id = table[table["Status"] == "succeeded"]["Job"].iloc[0]
    assert table.set_index("Job").loc[job_id, "Sync state"] == "not synced"
    pick_rows(at, [job_id])
    at.button(key="jobs_sync_selected").click().run()
    assert not at.exception
    wait_for_syncs(at)
    at.run()
    table = at.dataframe[0].value.set_index("Job")
    assert table.loc[job_id, "Sync state"] == "synced"
    runs = [r for d in (tmp_path / "wandb" / "ftsync-dashboard" / "demo").iterdir() for r in offline_runs(d)
            if r.run_id == job_id]
    assert len(runs) == 1 and runs[0].summary["status"] == "succeeded"
    assert len(runs[0].metrics()) > 10 and "train_loss" in runs[0].metrics()[0]
    at.switch_page("pages/5_History.py").run()
    history = at.dataframe[0].value
    assert history.iloc[0]["job_id"] == job_id and history.iloc[0]["action"] == "dashboard"


def test_two_sessions_with_different_keys_never_see_each_others_jobs():
    with Emulator("demo", api_key="sk-alice") as alice_api, \
            Emulator("bench", api_key="sk-bob", jobs=4, steps=10, examples=12) as bob_api:
        alice = new_app({"openai_api_key": "sk-alice", "openai_base_url": alice_api.base_url})
        bob = new_app({"openai_api_key": "sk-bob", "openai_base_url": bob_api.base_url})
        for at in (alice, bob, alice, bob):  # interleaved, sharing the process-wide caches
            at.run()
            at.switch_page("pages/2_Jobs.py").run()
            assert not at.exception
        alice_ids = set(alice.dataframe[0].value["Job"])
        bob_ids = set(bob.dataframe[0].value["Job"])
        assert alice_ids == set(alice_api.workspace.job_ids())
        assert bob_ids == set(bob_api.workspace.job_ids())
        assert not alice_ids & bob_ids


def test_metrics_page_plots_the_selected_job():
    import io
    import json

    import pyarrow as pa

    at = new_app()
    at.run()
    at.switch_page("pages/3_Metrics.py").run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert charts, "no chart"
    spec = json.loads(charts[0].proto.spec)
    assert "loss" in json.dumps(spec)
    data = pa.ipc.open_stream(io.BytesIO(charts[0].proto.datasets[0].data.data)).read_pandas()
    assert len(data) > 10
    assert at.get("download_button")


def test_datasets_page_previews_and_validates_an_upload():
    lines = b"".join(b'{"messages":[{"role":"user","content":"hi %d"},{"role":"assistant","content":"yo"}]}\n' % i
                     for i in range(12)) + b'{"messages": [oops\n'
    at = new_app()
    at.run()
    at.switch_page("pages/4_Datasets.py").run()
    at.radio(key="datasets_source").set_value("Upload a JSONL file").run()
    at.file_uploader(key="datasets_upload").upload("mine.jsonl", lines).run()
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["chat", "12"]
    findings = at.dataframe[0].value
    assert "13" in set(findings["line"]) and any(e.value.startswith("1 error: ") for e in at.error)
    preview = at.dataframe[-1].value
    assert len(preview) == 12 and "hi 3" in " ".join(map(str, preview.astype(str).values.ravel()))
    at.text_input(key="datasets_search").input("hi 11").run()
    assert len(at.dataframe[-1].value) == 1
