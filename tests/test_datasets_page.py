"""The Datasets page (issue #11), headless with AppTest in demo mode (real emulator, W&B offline): an account
without jobs, the base model that follows the file and prices the cost, search and pages, findings and
tiles, deep links."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from openai import OpenAI
from streamlit.testing.v1 import AppTest

from ftsync.connection import demo_emulator
from ftsync.datasets import inspect
from ftsync.emulator import Emulator

from .apptest import new_app, shown

PAGE = "pages/4_Datasets.py"
UPLOAD = "Upload a JSONL file"
ACCOUNT = "A fine-tune file of the account"


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def demo_api() -> OpenAI:
    """The dashboard's own demo emulator, read directly: the test's independent view of jobs and files."""
    emu = demo_emulator()
    return OpenAI(base_url=emu.base_url, api_key=emu.api_key)


def open_page(at: AppTest | None = None, job: str | None = None) -> AppTest:
    at = new_app() if at is None else at  # (an AppTest with no elements yet is falsy)
    if job is not None:
        at.query_params["job"] = job
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def chat_lines(n: int, tag=lambda i: "") -> bytes:
    return b"".join(json.dumps({"messages": [{"role": "user", "content": f"hi {i}{tag(i)}"},
                                             {"role": "assistant", "content": "yo"}]}).encode() + b"\n"
                    for i in range(n))


def upload(at: AppTest, data: bytes, name: str = "mine.jsonl") -> None:
    at.radio(key="datasets_source").set_value(UPLOAD).run()
    at.file_uploader(key="datasets_upload").upload(name, data).run()
    assert not at.exception, at.exception


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.main.metric}


def preview(at: AppTest):
    """The examples table (the page's last table)."""
    return at.main.dataframe[-1].value


def captions(at: AppTest) -> list[str]:
    return [shown(c) for c in at.main.caption]


def usd(x: float) -> str:
    """As `ftsync validate` prints a cost."""
    return f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


def demo_job(api: OpenAI, model: str, *, validation: bool = True):
    return next(j for j in api.fine_tuning.jobs.list(limit=100) if j.model == model
                and bool(j.validation_file) == validation)


def assert_priced_for(at: AppTest, data: bytes, model: str) -> None:
    """The model box shows `model`, and tokens and cost are those ftsync.datasets computes for it."""
    assert at.selectbox(key="datasets_model").value == model
    expected = inspect(data, model=model)
    assert tiles(at)["Tokens"] == f"{expected.tokens['total']:,}"
    assert tiles(at)["Estimated cost"] == usd(expected.estimated_cost_usd)
    assert any(c.startswith(f"Cost for {model}: ") for c in captions(at)), captions(at)


def test_an_account_without_jobs_says_so_and_still_checks_files():
    with Emulator("empty") as emu:
        at = open_page(new_app({"openai_api_key": emu.api_key, "openai_base_url": emu.base_url}))
        assert any("No fine-tuning jobs yet" in shown(i) for i in at.info)
        assert at.radio(key="datasets_source").options == [ACCOUNT, UPLOAD]
        assert at.radio(key="datasets_source").value == UPLOAD
        upload(at, chat_lines(12))
        assert tiles(at)["Examples"] == "12"

        at.radio(key="datasets_source").set_value(ACCOUNT).run()
        assert any("no fine-tune files yet" in shown(i) for i in at.info)
        OpenAI(base_url=emu.base_url, api_key=emu.api_key).files.create(
            file=("first.jsonl", chat_lines(20)), purpose="fine-tune")
        st.cache_data.clear()  # as when the cached file list expires
        at.run()
        assert not at.exception
        assert at.selectbox(key="datasets_file").options[0].startswith("first.jsonl · ")
        assert tiles(at)["Examples"] == "20"


def test_the_model_follows_the_job_and_the_cost_uses_the_model_shown(demo_api):
    at = open_page()
    first = at.selectbox(key="datasets_job").value
    assert at.selectbox(key="datasets_model").value == demo_api.fine_tuning.jobs.retrieve(first).model

    legacy = demo_job(demo_api, "babbage-002")
    at.selectbox(key="datasets_job").set_value(legacy.id).run()
    assert tiles(at)["Format"] == "legacy"
    assert_priced_for(at, demo_api.files.content(legacy.training_file).read(), "babbage-002")

    dpo = next(j for j in demo_api.fine_tuning.jobs.list(limit=100) if j.method and j.method.type == "dpo")
    at.selectbox(key="datasets_job").set_value(dpo.id).run()
    assert_priced_for(at, demo_api.files.content(dpo.training_file).read(), dpo.model)

    data = chat_lines(40)
    upload(at, data)  # an upload: the format's default model, until the reader picks another
    assert_priced_for(at, data, "gpt-4o-mini-2024-07-18")
    at.selectbox(key="datasets_model").set_value("gpt-4.1-nano-2025-04-14").run()
    assert_priced_for(at, data, "gpt-4.1-nano-2025-04-14")


def test_a_search_starts_at_page_1_and_finds_matches_there():
    at = open_page()
    upload(at, chat_lines(150, lambda i: " alpha" if i % 2 == 0 else ""))
    at.number_input(key="datasets_page").set_value(2).run()
    assert preview(at)["line"].iloc[0] == 51

    at.text_input(key="datasets_search").input("alpha").run()  # 75 matches: 2 pages
    assert at.number_input(key="datasets_page").value == 1
    assert preview(at)["line"].iloc[0] == 1

    at.number_input(key="datasets_page").set_value(2).run()
    at.text_input(key="datasets_search").input("hi 8 alpha").run()  # one match, on page 1 (line 9)
    assert list(preview(at)["line"]) == [9]
    assert "Page 1 of 1: examples 1–1 of 1 matching “hi 8 alpha”." in captions(at)


def test_the_page_count_is_shown_and_the_page_kept_in_range():
    at = open_page()
    upload(at, chat_lines(120))
    assert at.number_input(key="datasets_page").label == "Page (of 3)"
    assert "Page 1 of 3: examples 1–50 of 120." in captions(at)
    at.number_input(key="datasets_page").set_value(3).run()
    assert "Page 3 of 3: examples 101–120 of 120." in captions(at)
    at.number_input(key="datasets_page").set_value(999).run()
    page = at.number_input(key="datasets_page").value
    assert 1 <= page <= 3 and len(preview(at)) > 0
    assert f"Page {page} of 3: " in " ".join(captions(at))


def test_a_finding_about_the_whole_file_says_so_in_the_line_column():
    at = open_page()
    upload(at, chat_lines(3) + b'{"messages": [oops\n')  # too few examples (the file), a broken line 4
    findings = at.main.dataframe[0].value  # findings, then examples
    assert set(findings["line"]) == {"whole file", "4"}
    assert "None" not in findings.astype(str).to_numpy().ravel().tolist()


def test_a_validation_file_shows_no_epochs_or_cost(demo_api):
    job = demo_job(demo_api, "gpt-4.1-nano-2025-04-14")
    at = open_page(job=job.id)
    assert {"Epochs (default)", "Estimated cost"} <= set(tiles(at))
    at.radio(key="datasets_role").set_value("validation").run()
    assert not at.exception
    assert tiles(at)["Examples"] == f"{inspect(demo_api.files.content(job.validation_file).read()).examples:,}"
    assert not any("Epochs" in label or "cost" in label for label in tiles(at))


def test_a_deep_link_shows_its_job_and_names_an_unknown_one(demo_api):
    job = demo_job(demo_api, "babbage-002")
    at = open_page(job=job.id)
    assert at.selectbox(key="datasets_job").value == job.id
    assert not at.warning

    at = open_page(job="ftjob-doesnotexist")
    assert any(shown(w).startswith("Unknown job: ftjob-doesnotexist is not one of this account's 33 jobs")
               for w in at.warning)
    assert at.selectbox(key="datasets_job").value is None  # no other job in its place
    assert not at.main.metric
    at.selectbox(key="datasets_job").set_value(job.id).run()
    assert at.query_params["job"] == job.id and not at.warning
    assert tiles(at)["Format"] == "legacy"


def test_histograms_count_in_whole_numbers():
    at = open_page()
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    data = b"".join(json.dumps({"messages": turns * (1 + i % 3)}).encode() + b"\n" for i in range(12))
    upload(at, data)  # 2, 4 or 6 messages: Altair's own bins would tick at 2.5, 3, 3.5...
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert [s["title"] for s in specs] == ["Tokens per example", "Assistant tokens per example", "Messages per example"]
    for spec in specs:
        for channel in ("x", "y"):
            axis = spec["encoding"][channel]["axis"]
            assert (axis.get("format"), axis.get("tickMinStep")) == (",d", 1), (spec["title"], channel, axis)


def test_a_distribution_with_one_value_is_a_sentence():
    at = open_page()
    upload(at, chat_lines(12))  # every example: 2 messages, 1 trained token
    assert not at.get("vega_lite_chart")
    notes = [shown(m) for m in at.main.markdown]
    assert "**Messages per example**  \nEvery example has 2 messages." in notes


def test_back_from_another_page_the_same_file_and_model_show(demo_api):
    legacy = demo_job(demo_api, "babbage-002")
    at = open_page()
    at.selectbox(key="datasets_job").set_value(legacy.id).run()
    at.radio(key="datasets_role").set_value("validation").run()
    at.selectbox(key="datasets_model").set_value("davinci-002").run()
    at.switch_page("pages/3_Metrics.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert (at.selectbox(key="datasets_job").value, at.radio(key="datasets_role").value,
            at.selectbox(key="datasets_model").value) == (legacy.id, "validation", "davinci-002")


def test_bins_are_whole_numbers_and_keep_every_example():
    from array import array

    from ftsync.ui.dataset_charts import bin_counts

    small = bin_counts(array("I", [2, 4, 4, 6]))  # a bar per value, centred on it
    assert list(small["start"]) == [2, 3, 4, 5, 6] and list(small["examples"]) == [1, 0, 2, 0, 1]
    assert list(small["left"]) == [1.5, 2.5, 3.5, 4.5, 5.5]
    wide = bin_counts(array("I", range(100, 1100)))  # 1,000 values: round bins of 50
    assert set(wide["end"] - wide["start"]) == {50} and wide["examples"].sum() == 1000
    assert wide["label"].iloc[0] == "100–149"
