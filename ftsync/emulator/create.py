"""POST /fine_tuning/jobs: the request's rules, and the plan of the job it starts.

Range checks follow the OpenAPI spec; a training file that is not JSONL, or has fewer than 10
examples, makes the job fail during validation with the real API's `invalid_training_file`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .api import QUEUE_SECONDS, VALIDATE_SECONDS, ApiError, auto_epochs, job_seed, step_seconds
from .timeline import JobPlan
from .workspace import BASE_MODELS

if TYPE_CHECKING:
    from .api import Api

# name -> (check, what the spec allows)
_RANGES: dict[str, tuple[Any, str]] = {
    "n_epochs": (lambda v: isinstance(v, int) and 1 <= v <= 50, "an integer from 1 to 50"),
    "batch_size": (lambda v: isinstance(v, int) and 1 <= v <= 256, "an integer from 1 to 256"),
    "learning_rate_multiplier": (lambda v: isinstance(v, (int, float)) and v > 0, "a number above 0"),
    "beta": (lambda v: isinstance(v, (int, float)) and 0 < v <= 2, "a number in (0, 2]"),
    "compute_multiplier": (lambda v: isinstance(v, (int, float)) and 0.00001 < v <= 10, "a number in (0.00001, 10]"),
    "eval_interval": (lambda v: isinstance(v, int) and v >= 1, "an integer of at least 1"),
    "eval_samples": (lambda v: isinstance(v, int) and v >= 1, "an integer of at least 1"),
    "reasoning_effort": (lambda v: v in ("default", "low", "medium", "high"), "default, low, medium or high"),
}


def _check_hyperparameters(hyper: Any, param: str) -> dict[str, Any]:
    if hyper is None:
        return {}
    if not isinstance(hyper, dict):
        raise ApiError(400, f"Invalid type for '{param}': expected an object.", param=param)
    for name, value in hyper.items():
        if name not in _RANGES:
            raise ApiError(400, f"Unrecognized hyperparameter: '{name}'.", param=f"{param}.{name}")
        check, allowed = _RANGES[name]
        if value != "auto" and not check(value):
            raise ApiError(400, f"Invalid '{param}.{name}': {value!r}. Expected 'auto' or {allowed}.",
                           param=f"{param}.{name}")
    return dict(hyper)


def _count_examples(api: "Api", file_id: str) -> tuple[int, int, str | None]:
    """(examples, bytes, first problem) of a training file, read as the real validator would."""
    entry = api.ws.files[file_id]
    n, line_no, problem, tail = 0, 0, None, b""
    for chunk in entry.chunks():
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            line_no += 1
            if line.strip():
                n += 1
                if problem is None:
                    try:
                        json.loads(line)
                    except ValueError:
                        problem = f"Invalid file format. Line {line_no}: the line is not valid JSON."
    if tail.strip():
        n += 1
        try:
            json.loads(tail)
        except ValueError:
            problem = problem or f"Invalid file format. Line {line_no + 1}: the line is not valid JSON."
    return n, entry.size, problem


def plan_from_request(api: "Api", body: dict[str, Any], now: float) -> JobPlan:
    ws = api.ws
    model = body.get("model")
    if not model:
        raise ApiError(400, "Missing required parameter: 'model'.", param="model")
    known = {m for m, _ in BASE_MODELS} | {m for m, _ in ws.fine_tuned_models(now)}
    if model not in known:
        raise ApiError(400, f"Model {model} is not available for fine-tuning or does not exist.",
                       param="model", code="model_not_available")
    training_file = body.get("training_file")
    if not training_file:
        raise ApiError(400, "Missing required parameter: 'training_file'.", param="training_file")
    for param in ("training_file", "validation_file"):
        fid = body.get(param)
        if fid is not None and (fid not in ws.files or ws.files[fid].purpose != "fine-tune"):
            raise ApiError(400, f"invalid {param}: {fid}", param=param, code="invalid_file")
    suffix = body.get("suffix")
    if suffix is not None and not (isinstance(suffix, str) and 1 <= len(suffix) <= 64):
        raise ApiError(400, "Invalid 'suffix': expected a string of 1 to 64 characters.", param="suffix")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16
                                 or any(len(str(k)) > 64 or len(str(v)) > 512 for k, v in metadata.items())):
        raise ApiError(400, "Invalid 'metadata': at most 16 pairs, keys up to 64 and values up to 512 characters.",
                       param="metadata")
    seed = body.get("seed")
    if seed is not None and not (isinstance(seed, int) and 0 <= seed <= 2147483647):
        raise ApiError(400, "Invalid 'seed': expected an integer from 0 to 2147483647.", param="seed")

    method = body.get("method") or {"type": "supervised"}
    kind = method.get("type", "supervised")
    if kind not in ("supervised", "dpo", "reinforcement"):
        raise ApiError(400, f"Invalid 'method.type': {kind!r}.", param="method.type")
    requested = _check_hyperparameters(body.get("hyperparameters"), "hyperparameters")
    requested.update(_check_hyperparameters((method.get(kind) or {}).get("hyperparameters"),
                                            f"method.{kind}.hyperparameters"))
    grader = (method.get(kind) or {}).get("grader")
    if kind == "reinforcement":
        if not grader:
            raise ApiError(400, "Missing required parameter: 'method.reinforcement.grader'.",
                           param="method.reinforcement.grader")
        if not body.get("validation_file"):
            raise ApiError(400, "Reinforcement fine-tuning requires a validation_file.", param="validation_file")

    n_train, size, problem = _count_examples(api, training_file)
    resolved = {
        "n_epochs": auto_epochs(n_train),
        "batch_size": max(1, min(256, n_train // 500)),
        "learning_rate_multiplier": 1.8 if kind == "supervised" else 1.0,
    }
    if kind == "dpo":
        resolved["beta"] = 0.1
    if kind == "reinforcement":
        resolved.update(eval_interval=max(1, n_train // 10), eval_samples=1, compute_multiplier=1.0,
                        reasoning_effort="medium")
    resolved.update({k: v for k, v in requested.items() if v != "auto"})

    job_id = ws.new_id("ftjob-", 24)
    speed = ws.speed
    error, fail_step = None, 0
    if problem or n_train < 10:
        message = problem or f"Training file has {n_train} example(s), but must have at least 10 examples."
        error = {"code": "invalid_training_file", "param": "training_file",
                 "message": f"The job failed due to a file format error in the training file. {message}"}
    plan = JobPlan(
        id=job_id, seed=job_seed(ws, job_id), model=model, method=kind,
        training_file=training_file, validation_file=body.get("validation_file"), n_train=max(1, n_train),
        created_at=now, validated_at=now + VALIDATE_SECONDS / speed,
        started_at=now + (VALIDATE_SECONDS + QUEUE_SECONDS) / speed, step_seconds=step_seconds(speed),
        hyperparameters=resolved, requested=requested, suffix=suffix, metadata=metadata,
        user_seed=seed if seed is not None else job_seed(ws, job_id + "seed"),
        integrations=body.get("integrations"), grader=grader, error=error, fail_step=fail_step,
        valid_every=max(1, resolved.get("eval_interval", 10)), tokens_per_epoch=max(1, size // 4),
    )
    return plan
