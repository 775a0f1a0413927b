"""POST /chat/completions for the workspace's models: deterministic answers, as a model that learnt the
training data would give them.

The answer to a prompt from a job's own files is derived from that example's reference (its last
assistant message): a fine-tuned model gives it back most of the time, a checkpoint less often the
earlier it is, the base model seldom; otherwise a near miss (a reworded or cut answer, a tool call
with other arguments). Each (model, prompt) always gets the same answer, so tests can check what was
recorded against what was answered. Models past their shutdown date, deleted or unknown answer 404
`model_not_found`, as OpenAI's do.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import render
from .api import ApiError
from .rand import unit
from .workspace import BASE_MODELS, SHUTDOWN_DATES

if TYPE_CHECKING:
    from .timeline import JobPlan
    from .workspace import Workspace

BASE_QUALITY, FINAL_QUALITY = 0.15, 0.8  # how often an answer is the reference itself


def _key(messages: Any) -> str:
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def shutdown_date(model_id: str, plan: JobPlan | None = None) -> str | None:
    """The model's shutdown date as the models endpoint reports it: a fine-tune goes with its base."""
    base = plan.model if plan is not None else model_id
    return SHUTDOWN_DATES.get(base)


def _past(date: str | None, now: float) -> bool:
    if not date:
        return False
    return now >= datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()


class Chat:
    """The models that answer, and the references they answer from (indexed per file, when first needed)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._index: dict[str, dict[str, dict[str, Any]]] = {}  # file id -> prompt key -> reference message
        self.calls: dict[str, int] = {}  # prompt key + model -> times asked (tests count re-asks)

    # ---- which model ------------------------------------------------------------------------
    def _resolve(self, model: str, now: float) -> tuple[str, JobPlan | None, float]:
        """(kind, plan, quality) of a model id; 404 for one that does not (or no longer) serve."""
        ws = self.ws
        for model_id, plan in ws.fine_tuned_models(now):
            if model == model_id:
                return self._serving("fine-tuned", model, plan, FINAL_QUALITY, now)
            if model.startswith(model_id + ":ckpt-step-"):
                for ckpt in render.checkpoints(plan, now):
                    if ckpt["fine_tuned_model_checkpoint"] == model:  # an earlier one learnt less
                        share = 0.8 * ckpt["step_number"] / max(1, plan.total_steps)
                        return self._serving("checkpoint", model, plan,
                                             BASE_QUALITY + (FINAL_QUALITY - BASE_QUALITY) * share, now)
        if model in {m for m, _ in BASE_MODELS}:
            return self._serving("base", model, None, BASE_QUALITY, now)
        raise _not_found(model)

    def _serving(self, kind: str, model: str, plan: JobPlan | None, quality: float, now: float):
        if _past(shutdown_date(model, plan), now):
            raise _not_found(model)
        return kind, plan, quality

    # ---- references -------------------------------------------------------------------------
    def _references(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        if not file_id or file_id not in self.ws.files:
            return {}
        if file_id not in self._index:
            index: dict[str, dict[str, Any]] = {}
            tail = b""
            for chunk in self.ws.files[file_id].chunks():
                lines = (tail + chunk).split(b"\n")
                tail = lines.pop()
                for line in lines:
                    _add_reference(index, line)
            _add_reference(index, tail)
            self._index[file_id] = index
        return self._index[file_id]

    def _reference(self, messages: Any, plans: list[JobPlan]) -> dict[str, Any] | None:
        key = _key(messages)
        for plan in plans:
            for file_id in (plan.validation_file, plan.training_file):
                found = self._references(file_id).get(key)
                if found is not None:
                    return found
        return None

    # ---- the answer -------------------------------------------------------------------------
    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "Missing required parameter: 'model'.", param="model")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "Missing required parameter: 'messages'.", param="messages")
        now = self.ws.now()
        with self.ws.lock:
            kind, plan, quality = self._resolve(model, now)
            plans = [plan] if plan is not None else [p for p in self.ws.jobs.values() if p.model == model]
            reference = self._reference(messages, plans)
            key = _key(messages)
            self.calls[key + "\x00" + model] = self.calls.get(key + "\x00" + model, 0) + 1
        seed = int.from_bytes(hashlib.sha256(f"{model}\x00{key}".encode()).digest()[:4], "big")
        exact = unit(seed, 1) < quality
        message = _answer(reference, exact, seed, body)
        text = message.get("content") or json.dumps(message.get("tool_calls") or [])
        completion = _tokens(text)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and limit > 0 and completion > limit and message.get("content"):
            message["content"] = message["content"][: limit * 4]
            completion, finish = limit, "length"
        prompt = _tokens(json.dumps(messages)) + _tokens(json.dumps(body.get("tools") or []))
        return {
            "id": "chatcmpl-" + hashlib.sha256(f"{seed}{now}".encode()).hexdigest()[:24], "object": "chat.completion",
            "created": int(now), "model": model, "system_fingerprint": f"fp_{kind[:4]}",
            "choices": [{"index": 0, "message": {"role": "assistant", "refusal": None, **message},
                         "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }


def _not_found(model: str) -> ApiError:
    return ApiError(404, f"The model `{model}` does not exist or you do not have access to it.",
                    param=None, code="model_not_found")


def _add_reference(index: dict[str, dict[str, Any]], line: bytes) -> None:
    """A JSONL example's prompt (messages up to its last assistant turn) -> its reference answer."""
    if not line.strip():
        return
    try:
        ex = json.loads(line)
    except ValueError:
        return
    if not isinstance(ex, dict):
        return
    if isinstance(ex.get("input"), dict) and isinstance(ex.get("preferred_output"), list):  # DPO
        prompt, answer = ex["input"].get("messages"), (ex["preferred_output"] or [None])[-1]
    else:
        msgs = ex.get("messages")
        if not isinstance(msgs, list):
            return
        last = max((i for i, m in enumerate(msgs) if isinstance(m, dict) and m.get("role") == "assistant"),
                   default=None)
        if last is None:
            prompt, answer = msgs, None  # RFT: no reference answer in the file
        else:
            prompt, answer = msgs[:last], msgs[last]
    if isinstance(prompt, list):
        index.setdefault(_key(prompt), answer if isinstance(answer, dict) else {})


def _answer(reference: dict[str, Any] | None, exact: bool, seed: int, body: dict[str, Any]) -> dict[str, Any]:
    """The reference itself, or a near miss of it; a generic answer when the prompt is not the job's."""
    calls = reference.get("tool_calls") if reference else None
    if calls and body.get("tools"):
        out = []
        for i, call in enumerate(calls):
            fn = dict(call.get("function") or {})
            if not exact:
                fn["arguments"] = json.dumps({"guess": int(unit(seed, 3 + i) * 100)})
            out.append({"id": f"call_{seed % 10**8:08d}{i}", "type": "function", "function": fn})
        return {"content": None, "tool_calls": out}
    text = reference.get("content") if reference else None
    if not isinstance(text, str) or not text:
        return {"content": f"I can help with that (answer {seed % 1000})."}
    if exact:
        return {"content": text}
    words = text.split()
    if unit(seed, 2) < 0.5 and len(words) > 3:
        return {"content": " ".join(words[: max(2, len(words) * 2 // 3)])}  # cut short
    return {"content": "Sure. " + text.replace(".", ";", 1)}  # reworded
