"""The emulator's /chat/completions and models' shutdown dates, through the real openai SDK."""

from __future__ import annotations

import openai
import pytest

from ftsync.emulator import Emulator

from .helpers import openai_client


def _job(emu, model_prefix: str):
    ws = emu.workspace
    return next(ws.jobs[j] for j in ws.job_ids()
                if ws.jobs[j].status(ws.now()) == "succeeded" and ws.jobs[j].model.startswith(model_prefix))


def test_answers_are_deterministic_with_usage_and_rate_limit_headers(demo):
    client = openai_client(demo, max_retries=0)
    plan = _job(demo, "gpt-4.1-2")
    messages = [{"role": "user", "content": "Hello?"}]
    a = client.chat.completions.with_raw_response.create(model=plan.fine_tuned_model, messages=messages)
    b = client.chat.completions.create(model=plan.fine_tuned_model, messages=messages)
    assert a.parse().choices[0].message.content == b.choices[0].message.content
    assert a.parse().usage.prompt_tokens > 0 and a.parse().usage.completion_tokens > 0
    assert int(a.headers["x-ratelimit-remaining-requests"]) < int(a.headers["x-ratelimit-limit-requests"])
    models = {m.id: m.shutdown_date for m in client.models.list()}
    assert models[plan.fine_tuned_model] == "2027-01-14" and models["babbage-002"] == "2026-10-23"


def test_a_model_past_its_shutdown_date_or_unknown_is_model_not_found(demo):
    client = openai_client(demo, max_retries=0)
    gone = _job(demo, "gpt-4.1-nano")
    for model in (gone.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:emulator::nosuch"):
        with pytest.raises(openai.NotFoundError) as err:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        assert err.value.code == "model_not_found"


def test_past_its_requests_per_minute_a_429_with_retry_after():
    with Emulator("demo", chat_rpm=3) as emu:
        client = openai_client(emu, max_retries=0)
        plan = _job(emu, "gpt-4.1-2")
        for _ in range(3):
            client.chat.completions.create(model=plan.fine_tuned_model, messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model=plan.fine_tuned_model, messages=[{"role": "user", "content": "x"}])
        assert int(err.value.response.headers["retry-after"]) >= 1
        assert err.value.response.headers["x-ratelimit-remaining-requests"] == "0"
