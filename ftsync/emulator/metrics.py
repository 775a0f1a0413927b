"""Realistic training curves for emulated jobs, computed per step.

SFT and DPO use the keys of the real metrics events (`train_loss`, `train_mean_token_accuracy`,
`valid_*`, `full_valid_*`); RFT uses the nested event payload of the RFT guide. The result file
is rendered from the same numbers, in OpenAI's (`train_accuracy`) or Azure's
(`train_mean_token_accuracy`, `full_valid_*`) spelling. RFT has no documented result-file
layout: ours carries the event's top-level scalars (a design choice, not API fidelity).
"""

from __future__ import annotations

import math
from typing import Any

from .rand import unit
from .timeline import JobPlan

OPENAI_COLUMNS = ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
AZURE_COLUMNS = [
    "step",
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
]
RFT_COLUMNS = [
    "step",
    "train_mean_reward",
    "full_valid_mean_reward",
    "full_valid_mean_parse_error",
    "reasoning_tokens_mean",
    "completion_tokens_mean",
    "mean_unresponsive_rewards",
]


def _r(x: float) -> float:
    return round(x, 5)


def _noise(plan: JobPlan, step: int, channel: int) -> float:
    """Zero-centred noise in [-1, 1) for (job, step, channel)."""
    return unit(plan.seed + channel, step) * 2.0 - 1.0


def _progress(plan: JobPlan, step: int) -> float:
    return step / max(1, plan.total_steps)


def sft_metrics(plan: JobPlan, step: int) -> dict[str, float]:
    """The metrics event `data` of one SFT/DPO step (keys present only when computed)."""
    p = _progress(plan, step)
    dpo = plan.method == "dpo"
    start, floor = (0.693, 0.18) if dpo else (1.6 + unit(plan.seed, 1), 0.05 + 0.2 * unit(plan.seed, 2))
    base = floor + (start - floor) * math.exp(-4.0 * p)
    train_loss = max(0.0, base * (1 + 0.35 * _noise(plan, step, 11)))
    acc_base = (0.5 if dpo else 0.55) + (0.42 if dpo else 0.4) * (1 - math.exp(-5.0 * p))
    train_acc = min(1.0, max(0.0, acc_base + 0.08 * _noise(plan, step, 12)))
    data: dict[str, float] = {
        "step": step,
        "total_steps": plan.total_steps,
        "train_loss": _r(train_loss),
        "train_mean_token_accuracy": _r(train_acc),
    }
    if plan.is_valid_step(step):
        overfit = 0.25 * max(0.0, p - 0.6)
        data["valid_loss"] = _r(max(0.0, (base + overfit) * (1.08 + 0.15 * _noise(plan, step, 13))))
        data["valid_mean_token_accuracy"] = _r(min(1.0, max(0.0, acc_base - 0.03 + 0.05 * _noise(plan, step, 14))))
        if step in plan.epoch_end_steps():
            data["full_valid_loss"] = _r(base + overfit + 0.04)
            data["full_valid_mean_token_accuracy"] = _r(min(1.0, acc_base - 0.04))
    return data


def rft_metrics(plan: JobPlan, step: int) -> dict[str, Any]:
    """The nested metrics event `data` of one RFT step, shaped as in OpenAI's RFT guide."""
    p = _progress(plan, step)
    reward = min(1.0, max(0.0, 0.25 + 0.55 * (1 - math.exp(-3.0 * p)) + 0.06 * _noise(plan, step, 21)))
    reasoning = 3000.0 + 900.0 * _noise(plan, step, 22)
    completion = reasoning + 46.0
    grader = (plan.grader or {}).get("name", "grader")
    gtype = (plan.grader or {}).get("type", "score_model")
    data: dict[str, Any] = {
        "step": step,
        "total_steps": plan.total_steps,
        "usage": {"samples": {"train_reasoning_tokens_mean": _r(reasoning)}},
        "errors": {"graders": [{"name": grader, "type": gtype, "train_other_error_mean": 0.0}]},
        "scores": {
            "graders": [{"name": grader, "type": gtype, "train_reward_mean": _r(reward)}],
            "train_reward_mean": _r(reward),
        },
        "timing": {"step": {"sampling": _r(220 + 20 * _noise(plan, step, 23)), "training": _r(400 + 30 * _noise(plan, step, 24))}},
        "train_mean_reward": _r(reward),
        "reasoning_tokens_mean": _r(reasoning),
        "completion_tokens_mean": _r(completion),
        "mean_unresponsive_rewards": 0.0,
    }
    if plan.is_valid_step(step):
        valid = min(1.0, max(0.0, reward + 0.05 * _noise(plan, step, 25)))
        data["scores"]["valid_reward_mean"] = _r(valid)
        data["scores"]["graders"][0]["valid_reward_mean"] = _r(valid)
        data["full_valid_mean_reward"] = _r(valid)
        data["full_valid_mean_parse_error"] = 0.0
    return data


def step_metrics(plan: JobPlan, step: int) -> dict[str, Any]:
    return rft_metrics(plan, step) if plan.method == "reinforcement" else sft_metrics(plan, step)


def event_message(plan: JobPlan, data: dict[str, Any]) -> str:
    step, total = data["step"], data["total_steps"]
    if plan.method == "reinforcement":
        msg = f"Step {step}/{total} , train mean reward={data['train_mean_reward']:.2f}"
        if "full_valid_mean_reward" in data:
            msg += (
                f", full validation mean reward={data['full_valid_mean_reward']:.2f}"
                f", full validation mean parse error={data['full_valid_mean_parse_error']:.2f}"
            )
        return msg
    msg = f"Step {step}/{total}: training loss={data['train_loss']:.2f}"
    if "valid_loss" in data:
        msg += f", validation loss={data['valid_loss']:.2f}"
    if "full_valid_loss" in data:
        msg += f", full validation loss={data['full_valid_loss']:.2f}"
    return msg


def checkpoint_metrics(plan: JobPlan, step: int) -> dict[str, float]:
    """Checkpoint `metrics`: the step's scalars (RFT: its rewards)."""
    data = step_metrics(plan, step)
    if plan.method == "reinforcement":
        out = {"step": float(step), "train_reward_mean": data["train_mean_reward"]}
        if "full_valid_mean_reward" in data:
            out["valid_reward_mean"] = data["full_valid_mean_reward"]
        return out
    keys = ("train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
            "full_valid_loss", "full_valid_mean_token_accuracy")
    return {"step": float(step), **{k: data[k] for k in keys if k in data}}


def result_columns(plan: JobPlan) -> list[str]:
    if plan.method == "reinforcement":
        return RFT_COLUMNS
    return AZURE_COLUMNS if plan.result_columns == "azure" else OPENAI_COLUMNS


def result_csv(plan: JobPlan, steps: int) -> str:
    """The result file: one row per step, 5-decimal values, empty cells where not computed."""
    columns = result_columns(plan)
    lines = [",".join(columns)]
    for step in range(1, steps + 1):
        data = step_metrics(plan, step)
        if "train_accuracy" in columns:
            data["train_accuracy"] = data["train_mean_token_accuracy"]
        lines.append(",".join(_cell(data.get(c)) for c in columns))
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.5f}".rstrip("0").rstrip(".") if value != int(value) else str(value)
