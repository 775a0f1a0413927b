"""Writing one JobSnapshot to W&B, per the output contract in DESIGN.md.

Incremental by design: given what an earlier sync already logged (a SyncRecord), it resumes
the same run and adds only the rest (new steps, missing artifacts), so a running job synced
live, or a job whose training file was missing, is completed later without logging anything
twice. Each run is its own `wandb.init(reinit="create_new")` with per-run settings: no global
login, no environment writes, safe to call from several threads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wandb

from .errors import ConfigError, SinkError
from .ledger import SyncRecord
from .settings import WandbSettings
from .snapshot import DatasetRef, JobSnapshot, hyperparameters_of
from .wandb_offline import unwritten
from .wandb_session import explicit_credentials

RESERVED_INIT_KWARGS = ("id", "name", "project", "entity", "job_type", "reinit", "resume")
DATASET_TYPES = {"train": "training_files", "valid": "validation_files"}
MAX_TABLE_ROWS = 10_000
OFFLINE_LINEAGE_NOTE = "input of the run; logged as its output because W&B offline mode refuses use_artifact"


@dataclass
class SinkOptions:
    wandb: WandbSettings
    log_datasets: bool = True
    model_artifact_name: str = "model-metadata"
    model_artifact_type: str = "model"
    init_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class SinkResult:
    run_path: str
    offline: bool
    steps_synced: int
    artifacts: list[str]
    problems: list[str]  # what could not be logged this time (the job is then `partial`)


def artifact_name(name: str) -> str:
    """W&B's own sanitising rule, so names match those of W&B's logger."""
    return re.sub(r"[^a-zA-Z0-9_\-.]", "_", name)


def check_init_kwargs(kwargs: dict[str, Any]) -> None:
    clash = sorted(set(kwargs) & set(RESERVED_INIT_KWARGS))
    if clash:
        raise ConfigError(f"wandb.init arguments set by ftsync itself cannot be passed: {', '.join(clash)}")


def run_config(snap: JobSnapshot, n_train: int | None, n_valid: int | None) -> dict[str, Any]:
    config = dict(snap.job)
    config["hyperparameters"] = hyperparameters_of(snap.job)
    config["n_train"], config["n_valid"] = n_train, n_valid
    return config


def run_tags(snap: JobSnapshot, extra: list[str] | None) -> list[str]:
    tags = list(extra or [])
    for tag in (f"method:{snap.method}", f"model:{snap.job.get('model')}", f"status:{snap.status}"):
        if tag not in tags:
            tags.append(tag[:64])
    return tags


def run_summary(snap: JobSnapshot) -> dict[str, Any]:
    job = snap.job
    created, finished = job.get("created_at"), job.get("finished_at")
    error = job.get("error") or {}
    summary: dict[str, Any] = {
        "status": snap.status,
        "fine_tuned_model": job.get("fine_tuned_model"),
        "trained_tokens": job.get("trained_tokens"),
        "duration_seconds": (finished - created) if created and finished else None,
        "n_events": len(snap.events) if snap.events_read else None,
        "n_checkpoints": len(snap.checkpoints) if snap.events_read else None,
    }
    if error.get("message") or error.get("code"):
        summary["error"] = error.get("message")
        summary["error_code"] = error.get("code")
    return summary


def _rows(frame, start_step: int):
    """History rows after `start_step`, NaN cells dropped (as W&B's logger does)."""
    columns = [c for c in frame.columns if c != "step"]
    for values in frame.loc[frame["step"] > start_step].itertuples(index=False, name=None):
        step = int(values[0])
        row = {c: v for c, v in zip(columns, values[1:]) if not (isinstance(v, float) and math.isnan(v))}
        yield step, row


def _events_table(snap: JobSnapshot) -> wandb.Table:
    table = wandb.Table(columns=["created_at", "level", "type", "message", "data"])
    for e in snap.events:
        table.add_data(e.get("created_at"), e.get("level"), e.get("type"), e.get("message"),
                       json.dumps(e.get("data")) if e.get("data") is not None else None)
    return table


def _checkpoints_table(snap: JobSnapshot) -> wandb.Table:
    keys = sorted({k for c in snap.checkpoints for k in (c.get("metrics") or {})})
    table = wandb.Table(columns=["step_number", "fine_tuned_model_checkpoint", "created_at", *keys])
    for c in snap.checkpoints:
        metrics = c.get("metrics") or {}
        table.add_data(c.get("step_number"), c.get("fine_tuned_model_checkpoint"), c.get("created_at"),
                       *[metrics.get(k) for k in keys])
    return table


def add_large_file(artifact: wandb.Artifact, path: Path, name: str) -> None:
    """`artifact.add_file`, with the file's MD5 read here 1 MiB at a time: wandb's own hashing maps
    the whole file into memory, so a 500 MB dataset would add 500 MB to the sync's resident size."""
    add = getattr(artifact, "_add_local_file", None)
    if add is None or getattr(getattr(artifact, "digest_algorithm", None), "name", "") != "MANIFEST_MD5":
        artifact.add_file(str(path), name=name)  # another wandb: its own way
        return
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
    add(name, str(path), digest=base64.b64encode(md5.digest()).decode("ascii"))


class _RunWriter:
    """One W&B run for one job, written incrementally."""

    def __init__(self, snap: JobSnapshot, opts: SinkOptions, previous: SyncRecord | None, overwrite: bool):
        self.snap, self.opts = snap, opts
        resuming = previous is not None and not overwrite and previous.run_path is not None
        self.start_step = previous.steps_synced if resuming else 0
        self.done: set[str] = set(previous.artifacts) if resuming else set()
        self.resuming = resuming
        self.problems: list[str] = []
        self.n_items: dict[str, int | None] = {"train": None, "valid": None}
        self.run: Any = None

    def open(self) -> None:
        ws = self.opts.wandb
        kwargs = dict(self.opts.init_kwargs)
        check_init_kwargs(kwargs)
        # credentials and server always explicit for online runs: never the process's (another user's)
        online = {} if ws.offline else {"api_key": ws.api_key, "base_url": ws.host}
        settings = wandb.Settings(silent=True, console="off", x_disable_stats=True,
                                  mode="offline" if ws.offline else "online", **online)
        kwargs["tags"] = run_tags(self.snap, kwargs.get("tags"))
        ws.run_dir.mkdir(parents=True, exist_ok=True)  # explicit: ftsync.attempts looks for run folders there
        with explicit_credentials(active=not ws.offline):
            self.run = wandb.init(project=ws.project, entity=ws.entity, id=self.snap.id, name=self.snap.id,
                                  job_type="fine-tune", dir=str(ws.run_dir), reinit="create_new",
                                  resume="allow" if self.resuming else None, settings=settings, **kwargs)

    def log_history(self) -> int:
        last = self.start_step
        for step, row in _rows(self.snap.metrics, self.start_step):
            self.run.log(row, step=step)
            last = step
        return last

    def log_dataset(self, ref: DatasetRef) -> None:
        from .datasets import wandb_rows  # the dataset module turns JSONL into table rows

        if ref.error:
            self.problems.append(ref.error)
            return
        assert ref.path is not None
        rows = wandb_rows(ref.path, max_rows=MAX_TABLE_ROWS)
        table = wandb.Table(columns=list(rows.columns), data=[list(r) for r in rows.rows])
        metadata = {"file_id": ref.file_id, "filename": ref.filename, "bytes": ref.bytes, "items": rows.total,
                    "format": rows.format, "table_rows": len(rows.rows), "table_sampled": rows.sampled}
        if rows.sampled:
            metadata["table_sampling"] = rows.sampling
        online = not self.opts.wandb.offline
        if not online:
            metadata["lineage"] = OFFLINE_LINEAGE_NOTE
        artifact = wandb.Artifact(artifact_name(ref.artifact_name), type=DATASET_TYPES[ref.role], metadata=metadata)
        add_large_file(artifact, ref.path, ref.file_id)
        artifact.add(table, ref.file_id)
        aliases = ["latest", ref.file_id]
        if online:
            self.run.use_artifact(artifact, aliases=aliases)
        else:
            self.run.log_artifact(artifact, aliases=aliases)
        self.n_items[ref.role] = rows.total
        self.done.add(ref.artifact_name)

    def log_final(self, step: int) -> None:
        """What only a finished job has: tables of events/checkpoints, job details, the model."""
        snap = self.snap
        if "tables" not in self.done and snap.events_read:
            self.run.log({"events": _events_table(snap), "checkpoints": _checkpoints_table(snap)}, step=step)
            self.done.add("tables")
        if "job_details" not in self.done:
            self._json_artifact("job_details", "job_details", "job_details.json", snap.job)
            self.done.add("job_details")
        if snap.status == "succeeded" and "model" not in self.done:
            metadata = dict(snap.job)
            metadata["checkpoints"] = [{"step_number": c.get("step_number"), "model": c.get("fine_tuned_model_checkpoint"),
                                        "metrics": c.get("metrics")} for c in snap.checkpoints]
            self._json_artifact(self.opts.model_artifact_name, self.opts.model_artifact_type, "model_metadata.json",
                                metadata, table=_checkpoints_table(snap))
            self.done.add("model")

    def _json_artifact(self, name: str, type_: str, filename: str, metadata: dict[str, Any],
                       table: wandb.Table | None = None) -> None:
        artifact = wandb.Artifact(artifact_name(name), type=type_, metadata=metadata)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            path.write_text(json.dumps(metadata, indent=2))
            artifact.add_file(str(path), name=filename)
            if table is not None:
                artifact.add(table, "checkpoints")
            self.run.log_artifact(artifact, aliases=["latest", self.snap.id])

    def run_path(self) -> str:
        if self.opts.wandb.offline:
            return str(Path(self.run.dir).parent)  # the offline-run-… folder that `wandb sync` uploads
        return "/".join(self.run.path) if isinstance(self.run.path, (list, tuple)) else str(self.run.path)


def _reason(exc: BaseException) -> str:
    """One line for a failure while writing: a full or unwritable disk says so and where."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename2 or exc.filename
        return f"{exc.strerror}" + (f" ({where})" if where else "")
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def write_snapshot(snap: JobSnapshot, opts: SinkOptions, previous: SyncRecord | None = None,
                   overwrite: bool = False) -> SinkResult:
    """Log the snapshot (or what is missing of it) to its W&B run, and finish the run. Returns only
    once the run is confirmed written (offline: read back from its transaction log); otherwise
    raises SinkError, and the caller must not record anything as synced."""
    writer = _RunWriter(snap, opts, previous, overwrite)
    try:
        writer.open()
    except ConfigError:
        raise
    except Exception as exc:
        raise SinkError(f"W&B refused the run: {_reason(exc)}") from None
    failure: SinkError | None = None
    result: SinkResult | None = None
    try:
        last = writer.log_history()
        if opts.log_datasets:
            for ref in snap.datasets:
                if ref.artifact_name not in writer.done:
                    writer.log_dataset(ref)
        if snap.terminal:
            writer.log_final(max(last, snap.last_step))
        config = run_config(snap, writer.n_items["train"], writer.n_items["valid"])
        if writer.resuming:  # keep the counts an earlier sync found
            config = {k: v for k, v in config.items() if not (k in ("n_train", "n_valid") and v is None)}
        writer.run.config.update(config, allow_val_change=True)
        writer.run.summary.update(run_summary(snap))
        result = SinkResult(writer.run_path(), opts.wandb.offline, max(last, writer.start_step), sorted(writer.done),
                            writer.problems)
    except Exception as exc:
        failure = SinkError(f"W&B logging failed: {_reason(exc)}")
    try:
        writer.run.finish(exit_code=0 if failure is None else 1)
    except Exception as exc:
        failure = failure or SinkError(f"W&B could not finish the run: {_reason(exc)}")
    if failure is not None:
        raise failure
    assert result is not None
    if opts.wandb.offline:
        problem = unwritten(Path(result.run_path), last if last > writer.start_step else None)
        if problem:
            raise SinkError(f"W&B did not write the whole run to disk: {problem}")
    return result
