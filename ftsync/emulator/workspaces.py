"""The workspaces the emulator serves: `demo` (hand-shaped, realistic) and `bench` (generated to size).

Historical demo jobs have fixed dates, so the demo is the same on every machine; the live ones
(running, queued, paused, validating) are placed relative to start-up, so they move while you
watch. Times of live jobs shrink by the speed factor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from . import datagen
from .api import job_seed
from .rand import ident, mix, unit
from .timeline import JobPlan
from .workspace import Workspace

WORKSPACES = ("demo", "bench")


def build_workspace(name: str, *, seed: int = 0, speed: float = 1.0,
                    clock: Callable[[], float] = time.time, **options: Any) -> Workspace:
    if speed <= 0:
        raise ValueError("speed must be above 0")
    ws = Workspace(seed=seed, speed=speed, clock=clock)
    if name == "demo":
        if options:
            raise ValueError(f"the demo workspace takes no options (got {sorted(options)})")
        build_demo(ws)
    elif name == "bench":
        build_bench(ws, **options)
    elif name == "empty":
        pass
    else:
        raise ValueError(f"unknown workspace {name!r} (one of: demo, bench, empty)")
    return ws


def _ts(day: str) -> int:
    return int(datetime.strptime(day, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp())


# ---- demo --------------------------------------------------------------------------------------

# key -> (format, examples, filename)
DEMO_FILES: dict[str, tuple[str, int, str]] = {
    "support": ("chat", 120, "support_train.jsonl"),
    "support_val": ("chat", 30, "support_valid.jsonl"),
    "multiturn": ("multiturn", 80, "multiturn_train.jsonl"),
    "multiturn_val": ("multiturn", 20, "multiturn_valid.jsonl"),
    "weighted": ("weighted", 60, "weighted_turns.jsonl"),
    "tools": ("tools", 50, "order_tools_train.jsonl"),
    "tools_val": ("tools", 12, "order_tools_valid.jsonl"),
    "vision": ("vision", 40, "catalogue_vision.jsonl"),
    "dpo": ("dpo", 60, "tone_preferences_train.jsonl"),
    "dpo_val": ("dpo", 15, "tone_preferences_valid.jsonl"),
    "rft": ("rft", 50, "warranty_rft_train.jsonl"),
    "rft_val": ("rft", 12, "warranty_rft_valid.jsonl"),
    "legacy": ("legacy", 100, "legacy_prompts.jsonl"),
    "legacy_val": ("legacy", 20, "legacy_prompts_valid.jsonl"),
    "broken": ("chat", 30, "support_broken.jsonl"),
}

GRADER = {"type": "string_check", "name": "compliance_check", "input": "{{sample.output_text}}",
          "reference": "{{item.compliant}}", "operation": "eq"}

# (train, valid, model, method, outcome, suffix, n_epochs, batch, metadata team)
# outcome: succeeded | failed-validation | failed-training | failed-quota | cancelled |
#          running | queued | paused | validating  (the last four are live)
DEMO_JOBS: list[tuple[str, str | None, str, str, str, str | None, int, int, str | None]] = [
    ("legacy", "legacy_val", "babbage-002", "supervised", "succeeded", "classic", 2, 4, None),
    ("legacy", None, "davinci-002", "supervised", "succeeded", None, 3, 8, None),
    ("support", "support_val", "gpt-3.5-turbo-0125", "supervised", "succeeded", "support-v1", 3, 1, "support"),
    ("support", None, "gpt-3.5-turbo-0125", "supervised", "cancelled", "support-v1b", 3, 1, "support"),
    ("multiturn", "multiturn_val", "gpt-4o-mini-2024-07-18", "supervised", "succeeded", "dialog", 3, 2, "support"),
    ("broken", None, "gpt-4o-mini-2024-07-18", "supervised", "failed-validation", "support-v2", 3, 1, "support"),
    ("support", "support_val", "gpt-4o-mini-2024-07-18", "supervised", "succeeded", "support-v2", 4, 2, "support"),
    ("tools", "tools_val", "gpt-4o-mini-2024-07-18", "supervised", "succeeded", "orders", 3, 1, "orders"),
    ("weighted", None, "gpt-4o-mini-2024-07-18", "supervised", "succeeded", "weighted", 2, 1, "support"),
    ("vision", None, "gpt-4o-2024-08-06", "supervised", "succeeded", "catalogue", 2, 1, "catalogue"),
    ("tools", "tools_val", "gpt-4o-2024-08-06", "supervised", "failed-training", "orders-big", 3, 1, "orders"),
    ("support", "support_val", "gpt-4o-2024-08-06", "supervised", "succeeded", None, 2, 4, None),
    ("dpo", "dpo_val", "gpt-4o-mini-2024-07-18", "dpo", "succeeded", "tone", 2, 1, "tone"),
    ("multiturn", "multiturn_val", "gpt-4.1-mini-2025-04-14", "supervised", "succeeded", "dialog-41", 3, 2, "support"),
    ("support", "support_val", "gpt-4.1-nano-2025-04-14", "supervised", "succeeded", "nano", 3, 4, "support"),
    ("dpo", "dpo_val", "gpt-4.1-2025-04-14", "dpo", "cancelled", "tone-41", 2, 1, "tone"),
    ("rft", "rft_val", "o4-mini-2025-04-16", "reinforcement", "succeeded", "warranty", 2, 1, "compliance"),
    ("tools", "tools_val", "gpt-4.1-2025-04-14", "supervised", "succeeded", "orders-41", 2, 1, "orders"),
    ("support", "support_val", "gpt-4.1-mini-2025-04-14", "supervised", "failed-quota", "support-v3", 3, 1, "support"),
    ("vision", None, "gpt-4o-2024-08-06", "supervised", "succeeded", "catalogue-v2", 3, 2, "catalogue"),
    ("support", "support_val", "gpt-4.1-mini-2025-04-14", "supervised", "succeeded", "support-v3", 3, 2, "support"),
    ("dpo", "dpo_val", "gpt-4.1-mini-2025-04-14", "dpo", "succeeded", "tone-v2", 3, 1, "tone"),
    ("rft", "rft_val", "o4-mini-2025-04-16", "reinforcement", "failed-training", "warranty-v2", 2, 1, "compliance"),
    ("multiturn", None, "gpt-4.1-nano-2025-04-14", "supervised", "succeeded", None, 2, 2, None),
    ("weighted", None, "gpt-4.1-mini-2025-04-14", "supervised", "succeeded", "weighted-v2", 3, 1, "support"),
    ("legacy", "legacy_val", "babbage-002", "supervised", "succeeded", "classic-v2", 4, 4, None),
    ("support", "support_val", "gpt-4.1-2025-04-14", "supervised", "succeeded", "support-v4", 3, 2, "support"),
    ("tools", "tools_val", "gpt-4.1-mini-2025-04-14", "supervised", "succeeded", "orders-v3", 3, 1, "orders"),
    # live
    ("support", "support_val", "gpt-4.1-mini-2025-04-14", "supervised", "running", "support-v5", 3, 1, "support"),
    ("rft", "rft_val", "o4-mini-2025-04-16", "reinforcement", "running", "warranty-v3", 2, 1, "compliance"),
    ("dpo", "dpo_val", "gpt-4.1-mini-2025-04-14", "dpo", "paused", "tone-v3", 3, 1, "tone"),
    ("multiturn", "multiturn_val", "gpt-4.1-2025-04-14", "supervised", "queued", "dialog-v3", 3, 2, "support"),
    ("tools", None, "gpt-4.1-nano-2025-04-14", "supervised", "validating", "orders-nano", 2, 1, "orders"),
]

ERRORS = {
    "failed-validation": ({"code": "invalid_training_file", "param": "training_file",
                           "message": "The job failed due to a file format error in the training file. "
                                      "Invalid file format. Line 7: the line is not valid JSON."}, 0),
    "failed-training": ({"code": "internal_error", "param": None,
                         "message": "The job failed due to an internal error. Please try again."}, 0.6),
    "failed-quota": ({"code": "exceeded_quota", "param": None,
                      "message": "Creating this fine-tuning job would exceed your hard limit, please check your "
                                 "plan and billing details."}, 0),
}


def _broken(content: bytes) -> bytes:
    lines = content.split(b"\n")
    lines[6] = lines[6][: len(lines[6]) // 2]  # line 7 cut mid-object
    return b"\n".join(lines)


def build_demo(ws: Workspace) -> None:
    start = _ts("2024-02-05 09:00")
    files: dict[str, str] = {}
    for i, (key, (fmt, n, filename)) in enumerate(DEMO_FILES.items()):
        content = datagen.render(fmt, mix("demo", key), n)
        if key == "broken":
            content = _broken(content)
        file_id = "file-" + ident(22, "demo-file", key)
        ws.add_file(filename, content, start + i * 3600, file_id=file_id)
        files[key] = file_id

    now, speed = ws.now(), ws.speed
    history_span = _ts("2025-11-10 09:00") - start
    n_hist = sum(1 for row in DEMO_JOBS if row[4] not in ("running", "queued", "paused", "validating"))
    for i, (train, valid, model, method, outcome, suffix, epochs, batch, team) in enumerate(DEMO_JOBS):
        job_id = "ftjob-" + ident(24, "demo-job", i)
        seed = job_seed(ws, job_id)
        n_train = DEMO_FILES[train][1]
        steps = epochs * math.ceil(n_train / batch)
        live = outcome in ("running", "queued", "paused", "validating")
        if live:
            step_s = 3.0 / speed
            if outcome == "running":  # about 40% through
                started = now - 0.4 * steps * step_s
                validated = started - 60 / speed
            elif outcome == "paused":  # paused 10 s ago, half-way through
                started = now - 10 / speed - 0.5 * steps * step_s
                validated = started - 60 / speed
            elif outcome == "queued":
                validated, started = now - 20 / speed, now + 90 / speed
            else:  # validating
                validated, started = now + 45 / speed, now + 75 / speed
            created = min(validated, now - 10 / speed) - 30 / speed
        else:
            step_s = 1.0 + 3.0 * unit(seed, 1)
            created = start + int(history_span * (i + 1) / (n_hist + 1)) + int(3600 * unit(seed, 2))
            validated = created + 60 + 240 * unit(seed, 3)
            started = validated + 30 + 600 * unit(seed, 4)
        error, fail_at = ERRORS.get(outcome, (None, 0))
        hyper: dict[str, Any] = {"n_epochs": epochs, "batch_size": batch,
                                 "learning_rate_multiplier": round(0.5 + 1.5 * unit(seed, 5), 2)}
        if method == "dpo":
            hyper["beta"] = 0.1
        if method == "reinforcement":
            hyper.update(eval_interval=5, eval_samples=1, compute_multiplier=1.0, reasoning_effort="medium")
        plan = JobPlan(
            id=job_id, seed=seed, model=model, method=method, training_file=files[train],
            validation_file=files[valid] if valid else None, n_train=n_train,
            created_at=float(created), validated_at=float(validated), started_at=float(started), step_seconds=step_s,
            hyperparameters=hyper, requested={"n_epochs": epochs} if i % 3 == 0 else {}, suffix=suffix,
            metadata={"team": team, "env": "prod" if i % 2 else "staging"} if team else None,
            user_seed=int(unit(seed, 6) * 2**31), grader=GRADER if method == "reinforcement" else None,
            error=error, fail_step=int(steps * fail_at), result_columns="azure" if i % 3 == 1 else "openai",
            valid_every=hyper.get("eval_interval", 10), tokens_per_epoch=n_train * (90 + int(200 * unit(seed, 7))),
        )
        if outcome == "cancelled":
            plan.cancelled_at = plan.step_time(int(steps * 0.45)) + 1
        if outcome == "paused":
            plan.pauses.append([now - 10 / speed, None])
        ws.add_job(plan)


# ---- bench -------------------------------------------------------------------------------------

def build_bench(ws: Workspace, *, jobs: int = 100, steps: int | Sequence[int] = 200, examples: int = 100,
                file_bytes: int | None = None, files: int | None = None, line_bytes: int = 512,
                validation: bool = True) -> None:
    """`jobs` succeeded SFT jobs of `steps` steps each (a sequence: job j has steps[j % len]),
    sharing `files` training files of `examples` lines (or `file_bytes` bytes) each; nothing is
    rendered until it is read."""
    sizes = [steps] if isinstance(steps, int) else list(steps)
    if jobs < 0 or not sizes or min(sizes) < 1 or examples < 1:
        raise ValueError("bench needs jobs >= 0, steps >= 1, examples >= 1")
    n_lines = file_bytes // line_bytes if file_bytes else examples
    n_files = files or max(1, min(jobs, 20))
    start = _ts("2025-01-01 00:00")
    train_ids, valid_ids = [], []
    for f in range(n_files):
        entry = ws.add_file(f"bench_train_{f}.jsonl", datagen.FixedLineFile(mix("bench", f), n_lines, line_bytes),
                            start + f, file_id="file-" + ident(22, "bench-train", f))
        train_ids.append(entry.id)
        if validation:
            entry = ws.add_file(f"bench_valid_{f}.jsonl", datagen.FixedLineFile(mix("bench-v", f), max(10, n_lines // 10),
                                line_bytes), start + f, file_id="file-" + ident(22, "bench-valid", f))
            valid_ids.append(entry.id)
    for j in range(jobs):
        steps = sizes[j % len(sizes)]
        epochs = 3 if steps % 3 == 0 else (2 if steps % 2 == 0 else 1)
        job_id = "ftjob-" + ident(24, "bench-job", j)
        created = start + 86400 + (jobs - j) * 600  # added newest first
        plan = JobPlan(
            id=job_id, seed=job_seed(ws, job_id), model="gpt-4o-mini-2024-07-18", method="supervised",
            training_file=train_ids[j % n_files], validation_file=valid_ids[j % n_files] if validation else None,
            n_train=steps // epochs, created_at=float(created), validated_at=created + 30.0,
            started_at=created + 60.0, step_seconds=0.1,
            hyperparameters={"n_epochs": epochs, "batch_size": 1, "learning_rate_multiplier": 1.8},
            suffix=f"bench-{j}", user_seed=j, result_columns="azure" if j % 2 else "openai",
            tokens_per_epoch=n_lines * line_bytes // 4,
        )
        ws.add_job(plan)
