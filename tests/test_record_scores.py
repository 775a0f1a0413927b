"""Prompts and scores of `ftsync record`, as plain data: no server needed."""

from __future__ import annotations

import json

from ftsync.record.deadlines import deadline, parse_shutdown
from ftsync.record.prompts import example_of, examples_from, max_tokens_for
from ftsync.record.scores import score, similarity

CALL = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                             "function": {"name": "get", "arguments": "{\"id\": 7}"}}]}


def test_the_prompt_is_everything_before_the_last_assistant_turn_with_the_examples_tools():
    ex = example_of(3, {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                     {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}],
                        "tools": [{"type": "function", "function": {"name": "get"}}], "parallel_tool_calls": False},
                    seen=False)
    assert [m["content"] for m in ex.messages] == ["a", "b", "c"] and ex.reference["content"] == "d"
    assert ex.options == {"tools": [{"type": "function", "function": {"name": "get"}}], "parallel_tool_calls": False}
    dpo = example_of(1, {"input": {"messages": [{"role": "user", "content": "q"}]},
                         "preferred_output": [{"role": "assistant", "content": "yes"}],
                         "non_preferred_output": [{"role": "assistant", "content": "no"}]}, seen=False)
    assert (dpo.reference["content"], dpo.rejected["content"]) == ("yes", "no")
    assert example_of(1, {"prompt": "legacy", "completion": "x"}, seen=False) is None


def test_a_training_sample_is_seeded_spread_and_marked_seen():
    lines = "\n".join(json.dumps({"messages": [{"role": "user", "content": str(i)},
                                               {"role": "assistant", "content": str(i)}]}) for i in range(200))
    a = examples_from(lines.encode(), limit=10, seen_in_training=True)
    b = examples_from(lines.encode(), limit=10, seen_in_training=True)
    assert [e.line for e in a] == [e.line for e in b] and max(e.line for e in a) > 10
    assert all(e.seen_in_training for e in a)
    assert [e.line for e in examples_from(lines.encode(), limit=10)] == list(range(1, 11))  # validation: the first


def test_scores_need_no_other_model():
    ref = {"role": "assistant", "content": "Order 7 has shipped."}
    assert score({"content": "order 7  has shipped."}, ref)["exact_match"] is True  # case and spaces aside
    s = score({"content": "Order 7 shipped."}, ref)
    assert s["exact_match"] is False and 0.5 < s["similarity"] < 1 and s["valid_json"] is None
    js = {"role": "assistant", "content": '{"a": 1, "b": [2]}'}
    assert (score({"content": '{"b": [2], "a": 1}'}, js)["equal_json"], score({"content": "{oops"}, js)["valid_json"]) \
        == (True, False)
    same = score({"tool_calls": CALL["tool_calls"]}, CALL)
    assert same["tool_name_match"] and same["tool_args_match"] and same["exact_match"]
    other = {"tool_calls": [{"function": {"name": "get", "arguments": "{\"id\": 8}"}}]}
    assert score(other, CALL)["tool_name_match"] and not score(other, CALL)["tool_args_match"]
    closer = score({"content": "yes, gladly"}, {"content": "yes, gladly!"}, {"content": "no"})
    assert closer["closer_to_chosen"] is True
    assert similarity("", "") == 1.0


def test_deadlines_from_the_api_else_the_announced_table():
    assert str(deadline("ft:gpt-4o-mini-2024-07-18:org::abc").until) == "2027-01-14"
    assert str(deadline("ft:gpt-4o-mini-2024-07-18:org::abc", "2027-03-01").until) == "2027-03-01"
    assert deadline("ft:gpt-4.1-nano-2025-04-14:o::x:ckpt-step-5").until.isoformat() == "2026-10-23"
    assert deadline("my-own-model").until is None
    assert parse_shutdown(1798761600).isoformat() == "2027-01-01" and parse_shutdown("soon") is None
    assert max_tokens_for(None) == 256 and max_tokens_for(10) == 36 and max_tokens_for(10_000) == 1024
