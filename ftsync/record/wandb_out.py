"""Recorded answers into the job's W&B run: a Table `outputs` (one row per example, each model's
answer and scores beside the reference), summary means per model, and an artifact `outputs-<job id>`
with the table and the raw responses as JSONL, used beside the model artifact it answers for.

The run is the job's own (id = job id), resumed as every resumed run is: what is logged goes after its
last step, its tags, name and summary stay."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SinkError, first_line
from ..ledger import Ledger
from ..wandb_offline import unwritten
from .scores import SCORES, score
from .store import Answer

if TYPE_CHECKING:
    from .runner import JobPlanned, RecordOptions

OUTPUTS_TYPE = "outputs"


def _text(message: dict[str, Any] | None) -> str:
    """A message as the dataset tables render it: its text and tool calls."""
    from ..datasets.tables import message_text

    return message_text(message) if message else ""


def table_rows(planned: JobPlanned, answers: list[Answer]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the `outputs` table: per example its line, prompt and reference, then for
    each model (by role) its answer, tokens, latency, finish reason and scores."""
    from ..datasets.tables import conversation

    by = {(a.model, a.line): a for a in answers if a.answer is not None}
    tasks = [t for t in planned.tasks if not t.gone]
    columns = ["line", "seen_in_training", "prompt", "reference", "rejected"]
    for t in tasks:
        columns += [f"{t.role}: {c}" for c in ("answer", "tokens", "latency_s", "finish_reason", *SCORES)]
    rows = []
    for i, ex in enumerate(planned.tasks[0].examples if planned.tasks else []):
        row: list[Any] = [ex.line, ex.seen_in_training, conversation(ex.messages), _text(ex.reference),
                          _text(ex.rejected)]
        for t in tasks:
            found = by.get((t.model, ex.line))
            message = found.answer.get("message") if found else None
            usage = (found.answer.get("usage") or {}) if found else {}
            scores = score(message, ex.reference, ex.rejected) if found else dict.fromkeys(SCORES)
            row += [_text(message) if found else None, usage.get("completion_tokens"),
                    found.answer.get("latency_s") if found else None,
                    found.answer.get("finish_reason") if found else None, *[scores[k] for k in SCORES]]
        rows.append(row)
    return columns, rows


def summary_means(columns: list[str], rows: list[list[Any]]) -> dict[str, float]:
    """`outputs/<role>/<score>`: the mean of each score column over the examples it applies to."""
    out = {}
    for i, column in enumerate(columns):
        role, _, name = column.partition(": ")
        if name not in SCORES:
            continue
        values = [float(r[i]) for r in rows if r[i] is not None]
        if values:
            out[f"outputs/{role}/{name}"] = round(sum(values) / len(values), 4)
    return out


def write_outputs(planned: JobPlanned, answers: list[Answer], options: RecordOptions, ledger: Ledger) -> str:
    """Log the job's recorded outputs into its run; returns the run's path (offline: its folder)."""
    import wandb

    from ..sink import init_run, run_copy

    ws, job_id = options.wandb, planned.job["id"]
    columns, rows = table_rows(planned, answers)
    entity, project = ws.scope
    synced = ledger.get(entity, project, job_id)
    try:
        run = init_run(ws, job_id, resume="allow")
    except Exception as exc:  # wandb's own errors: one line
        raise SinkError(f"W&B refused the run: {first_line(exc)}") from None
    try:
        step = max(int(getattr(run, "starting_step", 0) or 0), (synced.steps_synced + 1) if synced else 0)
        table = wandb.Table(columns=columns, data=rows)
        metadata = {"job_id": job_id, "source": planned.source, "seen_in_training": planned.seen_in_training,
                    "models": {t.role: t.model for t in planned.tasks},
                    "no_longer_serving": {t.role: t.gone for t in planned.tasks if t.gone},
                    "examples": len(rows)}
        artifact = wandb.Artifact(f"outputs-{job_id}", type=OUTPUTS_TYPE, metadata=metadata)
        artifact.add(table, "outputs")
        run.log({"outputs": run_copy(table)}, step=step)
        run.summary.update(summary_means(columns, rows))
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "responses.jsonl"
            with open(raw, "w", encoding="utf-8") as f:
                for a in answers:
                    f.write(json.dumps({"model": a.model, "line": a.line, "answer": a.answer, "error": a.error}) + "\n")
            artifact.add_file(str(raw), name="responses.jsonl")
            if not ws.offline:  # lineage: the model artifact -> this run -> the outputs
                try:
                    run.use_artifact(f"{run.entity}/{run.project}/model-metadata:{job_id}")
                except Exception:  # noqa: BLE001 - a job not synced yet has no model artifact to link
                    artifact.metadata["model_artifact"] = "not found: sync the job to link its model"
            else:
                artifact.metadata["model_artifact"] = f"model-metadata:{job_id} (linked when synced online)"
            run.log_artifact(artifact, aliases=["latest", job_id])
            path = str(Path(run.dir).parent) if ws.offline else "/".join(run.path) if isinstance(run.path, (list, tuple)) \
                else str(run.path)
            run.finish()
    except Exception as exc:
        run.finish(exit_code=1)
        raise SinkError(f"W&B logging failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") \
            from None
    if ws.offline:
        problem = unwritten(Path(path), step)
        if problem:
            raise SinkError(f"W&B did not write the whole run to disk: {problem}")
    return path
