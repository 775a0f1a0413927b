"""Statistics, OpenAI's default epochs, billing and cost, model table."""

from __future__ import annotations

import json

import pytest

from ftsync.datasets import DatasetError, default_epochs, get_encoder, histograms, inspect, resolve_model
from ftsync.datasets.prices import MODELS, training_cost


@pytest.mark.parametrize(("n", "epochs"), [(0, None), (1, 25), (3, 25), (10, 10), (33, 3), (34, 3), (100, 3),
                                           (8333, 3), (8334, 2), (12_500, 2), (12_501, 1), (100_000, 1)])
def test_default_epochs_match_the_cookbook(n: int, epochs: int | None) -> None:
    assert default_epochs(n) == epochs


def test_cost_examples_from_the_fine_tuning_guide() -> None:
    # "100k tokens x 3 epochs: about $0.90 on gpt-4o-mini-2024-07-18, $2.40 on gpt-3.5-turbo-0125"
    assert training_cost(resolve_model("gpt-4o-mini-2024-07-18"), 100_000, 3) == pytest.approx(0.90)
    assert training_cost(resolve_model("gpt-3.5-turbo"), 100_000, 3) == pytest.approx(2.40)
    assert training_cost(resolve_model("o4-mini"), 100_000, 3) is None


def test_price_table() -> None:
    want = {"gpt-4o-mini-2024-07-18": 3.0, "gpt-4o-2024-08-06": 25.0, "gpt-4.1-2025-04-14": 25.0,
            "gpt-4.1-mini-2025-04-14": 5.0, "gpt-4.1-nano-2025-04-14": 1.5, "gpt-3.5-turbo-0125": 8.0,
            "babbage-002": 0.4, "davinci-002": 6.0}
    assert {k: MODELS[k].usd_per_1m for k in want} == want
    assert resolve_model("gpt-4.1-mini").name == "gpt-4.1-mini-2025-04-14"  # not gpt-4.1
    with pytest.raises(DatasetError, match="unknown base model 'gpt-9'"):
        resolve_model("gpt-9")


def _chat(i: int, words: int) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                    {"role": "assistant", "content": "word " * words}]}).encode() + b"\n"


def test_billing_caps_each_example_at_the_token_limit_and_estimates_cost() -> None:
    data = b"".join(_chat(i, 5000 if i == 0 else 10) for i in range(20))
    report = inspect(data, model="gpt-3.5-turbo-0613")  # limit 4,096
    per = report.stats["tokens_per_example"]
    assert report.stats["examples_over_limit"] == 1 and per["max"] > 4096
    assert report.tokens["billed_per_epoch"] == report.tokens["total"] - per["max"] + 4096
    assert report.n_epochs == 5  # 20 examples: min(25, 100 // 20)
    assert report.estimated_cost_usd == pytest.approx(8.0 * report.tokens["billed_per_epoch"] * 5 / 1e6, abs=1e-4)
    assert [f.code for f in report.findings] == ["over_token_limit"]


def test_distributions_and_roles() -> None:
    data = b"".join(_chat(i, i) for i in range(1, 12))
    s = inspect(data).stats
    assert s["messages_per_example"] == {"min": 2, "max": 2, "mean": 2.0, "median": 2, "p5": 2, "p95": 2}
    enc = get_encoder("o200k_base")
    assert s["assistant_tokens_per_example"]["min"] == enc.count("word ")
    assert set(s["tokens_by_role"]) == {"user", "assistant"}
    assert s["examples_without_system"] == 11 and s["examples_without_user"] == 0


def test_reinforcement_cost_is_a_note_not_a_number() -> None:
    data = b"".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}], "answer": "a"}).encode() + b"\n"
                    for i in range(10))
    report = inspect(data)
    assert report.format == "reinforcement" and report.model == "o4-mini-2025-04-16"
    assert report.estimated_cost_usd is None and "billed by training time" in report.cost_note


def test_to_json_shape() -> None:
    report = inspect(b"".join(_chat(i, 3) for i in range(10)) + b"{oops\n")
    obj = report.to_json()
    assert set(obj) >= {"path", "format", "examples", "errors", "warnings", "tokens", "estimated_cost_usd", "n_epochs"}
    assert obj["path"] == "<bytes>" and obj["format"] == "chat" and obj["examples"] == 10
    assert obj["errors"] == [{"line": 11, "code": "invalid_json",
                              "message": "invalid JSON: Expecting property name enclosed in double quotes (column 2)"}]
    assert set(obj["tokens"]) >= {"total", "assistant", "max_example", "exact"} and obj["tokens"]["exact"] is True
    json.dumps(obj)


def test_histograms_are_per_example_and_bounded() -> None:
    report = inspect(b"".join(_chat(i, i % 7) for i in range(30)))
    h = histograms(report)
    assert list(h) == ["Tokens per example", "Trained (assistant) tokens per example", "Messages per example"]
    assert len(h["Tokens per example"]) == 30 and h["Messages per example"] == [2] * 30
    assert sum(h["Trained (assistant) tokens per example"]) == report.tokens["assistant"]
    assert len(histograms(report, max_values=7)["Tokens per example"]) <= 7
    assert histograms(inspect(b"")) == {}
