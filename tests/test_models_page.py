"""The Models page (issue #19 item 6), driven headless with AppTest against an emulator of its own
(its /chat/completions answers counted there), W&B offline: every fine-tuned model with its deadline,
what is recorded and the estimate; nothing asked before the confirmation; the record in the
background; the answers beside the reference, sorted and filtered by score; the hosted limits."""

from __future__ import annotations

import time

import pytest

from ftsync.emulator import Emulator
from ftsync.record.background import RECORDING

from .apptest import new_app, shown, texts

MODELS = "pages/6_Models.py"
KEY = "sk-models-page"

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def emu():
    with Emulator("demo", api_key=KEY) as e:
        yield e


def models_page(emu, secrets: dict | None = None):
    from .apptest import LOCAL_ALLOWED

    at = new_app({"openai_api_key": KEY, "openai_base_url": emu.base_url},
                 secrets=None if secrets is None else {**LOCAL_ALLOWED, **secrets})
    at.run()
    at.switch_page(MODELS).run()
    assert not at.exception, at.exception
    return at


def frame_with(at, column: str):
    """The first table on the page with this column (AppTest keeps no key of a table without selection)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def models_table(at):
    return frame_with(at, "Serves until").set_index("Job")


def answers_table(at):
    return frame_with(at, "reference")


def wait_for_record(at, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while at.session_state["ftsync_record_task"].active:
        assert time.monotonic() < deadline, "the record did not end"
        time.sleep(0.3)
        at.run()
    at.run()


def asked(emu) -> int:
    return sum(emu.api.chat.calls.values())


def serving_job(emu, model: str = "gpt-4.1-mini", train: str | None = None) -> str:
    ws = emu.workspace
    for job_id in ws.job_ids():
        plan = ws.jobs[job_id]
        if plan.status(ws.now()) == "succeeded" and plan.model.startswith(model) and (
                train is None or ws.files[plan.training_file].filename == train):
            return job_id
    raise LookupError(model)


def test_every_fine_tuned_model_with_its_deadline_what_is_recorded_and_the_estimate(emu):
    at = models_page(emu)
    frame = models_table(at)
    ws = emu.workspace
    made = {j for j in ws.job_ids() if ws.jobs[j].status(ws.now()) == "succeeded"}
    assert set(frame.index) == made  # every fine-tuned model, nothing else
    assert list(frame.columns[:6]) == ["Model", "Serves until", "Days left", "Recorded", "To ask", "Estimate (USD)"]
    days = list(frame["Days left"])
    serving = [d for d in days if d > 0]
    assert days[:len(serving)] == sorted(serving)  # soonest gone first, the gone ones after
    gone = frame[frame["Days left"] <= 0]
    assert len(gone) and gone["Estimate (USD)"].isna().all()
    assert gone["Note"].str.contains("no longer serves|no chat examples").all()
    live = frame[frame["Days left"] > 0]
    assert (live["Serves until"] == "2027-01-14").all() and (live["Estimate (USD)"] > 0).all()
    assert (live["Recorded"] == 0).all() and asked(emu) == 0  # estimating asks no model


@pytest.mark.slow
def test_record_asks_nothing_before_the_confirmation_then_records_in_the_background(emu):
    job_id = serving_job(emu, train="support_train.jsonl")
    at = models_page(emu)
    at.multiselect(key="models_pick").set_value([job_id]).run()
    at.number_input(key="models_examples").set_value(6).run()
    at.checkbox(key="models_base").check().run()
    said = texts(at)
    assert "Estimate: at most" in said and "12 requests" in said  # 6 examples x (fine-tuned + base)
    at.button(key="models_record").click().run()
    assert "sends 12 requests" in texts(at) and asked(emu) == 0  # the confirmation: nothing sent yet
    at.button(key="models_confirm_no").click().run()
    assert not at.button(key="models_record").disabled and asked(emu) == 0  # cancelled: still nothing
    at.button(key="models_record").click().run()
    at.button(key="models_confirm_yes").click().run()
    assert at.session_state["ftsync_record_task"] is not None
    wait_for_record(at)
    assert not at.exception, at.exception
    assert asked(emu) == 12
    assert "Recorded 1 model: 12 answers recorded" in texts(at)
    assert models_table(at).loc[job_id, "Recorded"] == 6
    # the answers beside the reference, one row per example, each model's own
    answers = answers_table(at)
    assert list(answers.columns[:5]) == ["line", "reference", "fine-tuned: answer", "base: answer", "prompt"]
    assert len(answers) == 6 and "rejected" not in answers.columns  # not preference data
    assert answers["fine-tuned: answer"].notna().all() and answers["reference"].str.len().gt(0).all()
    # sorted and filtered by a score
    at.selectbox(key="models_score").set_value("base: similarity").run()
    sims = list(answers_table(at)["base: similarity"])
    assert sims == sorted(sims)
    at.slider(key="models_score_range").set_value((0.99, 1.0)).run()
    kept = answers_table(at)
    assert len(kept) < 6 and (kept["base: similarity"] >= 0.99).all()
    at.toggle(key="models_worst_first").set_value(False).run()
    at.slider(key="models_score_range").set_value((0.0, 1.0)).run()
    assert list(answers_table(at)["base: similarity"]) == sorted(sims, reverse=True)
    # recording again asks only what is left: nothing
    at.multiselect(key="models_pick").set_value([job_id]).run()
    assert at.button(key="models_record").disabled and "every example is answered" in \
        str(at.button(key="models_record").help)


@pytest.mark.slow
def test_the_operators_limits_refuse_a_record_too_big_and_one_account_records_once_at_a_time(emu):
    job_id = serving_job(emu, train="support_train.jsonl")
    at = models_page(emu, {"record_max_usd": 0.0001, "record_max_examples": 5})
    assert at.number_input(key="models_examples").max == 5
    at.multiselect(key="models_pick").set_value([job_id]).run()
    assert at.button(key="models_record").disabled
    [error] = [shown(e) for e in at.error]
    assert "over this dashboard's 0.00 USD per record" in error and asked(emu) == 0

    emu.latency = 0.5  # slow answers: the first record is still running when the second tab asks
    first, second = models_page(emu), models_page(emu)
    for tab in (first, second):
        tab.multiselect(key="models_pick").set_value([job_id]).run()
        tab.number_input(key="models_examples").set_value(4).run()  # the second tab later asks for 8: 4 left
        tab.button(key="models_record").click().run()
    first.button(key="models_confirm_yes").click().run()
    second.button(key="models_confirm_yes").click().run()
    assert first.session_state["ftsync_record_task"].active
    assert second.session_state["ftsync_record_task"] is None if "ftsync_record_task" in second.session_state \
        else True
    assert "already running" in texts(second)
    wait_for_record(first)
    assert "answers recorded" in texts(first)
    emu.latency = 0.0
    second.run()  # once it ended, the other tab may record (what is left)
    second.number_input(key="models_examples").set_value(8).run()
    second.button(key="models_record").click().run()
    second.button(key="models_confirm_yes").click().run()
    wait_for_record(second)
    assert "answers recorded" in texts(second) and not RECORDING.busy(second.session_state["ftsync_record_task"].label)
