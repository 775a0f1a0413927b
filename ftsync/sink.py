"""Writing one JobSnapshot to W&B, per the output contract in DESIGN.md.

Incremental by design: given what an earlier sync already logged (a SyncRecord), it resumes
the same run and adds only the rest (new steps, missing artifacts), so a running job synced
live, or a job whose training file was missing, is completed later without logging anything
twice. How the run is opened follows the job's RunPlan (ftsync.integration): ftsync's own run
(new, resumed, or rewound to step 0 for an overwrite), or OpenAI's own run of the job, to which
only what it lacks is added. Each run is its own `wandb.init(reinit="create_new")` with per-run
settings: no global login, no environment writes, safe to call from several threads.
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
from .integration import ENRICH, OPENAI_CONFIG_KEYS, RunPlan
from .ledger import SyncRecord
from .settings import WandbSettings
from .snapshot import DatasetRef, JobSnapshot, hyperparameters_of
from .wandb_offline import unwritten
from .wandb_session import explicit_credentials, thread_safe_artifact_caches

thread_safe_artifact_caches()  # runs are written from several threads (the dashboard, parallel syncs)

RESERVED_INIT_KWARGS = ("id", "name", "project", "entity", "job_type", "reinit", "resume", "resume_from", "fork_from")
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


def merged_tags(theirs: Any, ours: list[str]) -> list[str]:
    """A resumed run's tags are replaced by those given: so OpenAI's first, ours beside them."""
    return list(dict.fromkeys([*(theirs or ()), *ours]))


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


def run_copy(table: wandb.Table) -> wandb.Table:
    """The same rows as a Table of the run's own. The Table added to an artifact would be logged as a
    reference to that artifact by its client id, which wandb resolves from a process-wide cache of the
    last 100 artifacts: a sync of many jobs in one process outgrows it."""
    return wandb.Table(columns=list(table.columns), data=table.data)


def init_run(ws: WandbSettings, run_id: str, **how: Any) -> Any:
    """`wandb.init` of a job's run (id = job id), with per-run settings: online, credentials and server
    always explicit, never the process's (another user's); offline, the folder ftsync.attempts watches."""
    online = {} if ws.offline else {"api_key": ws.api_key, "base_url": ws.host}
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True,
                              mode="offline" if ws.offline else "online", **online)
    ws.run_dir.mkdir(parents=True, exist_ok=True)
    with explicit_credentials(active=not ws.offline):
        return wandb.init(project=ws.project, entity=ws.entity, id=run_id, job_type="fine-tune", dir=str(ws.run_dir),
                          reinit="create_new", settings=settings, **how)


class _RunWriter:
    """One W&B run for one job, written incrementally, as its RunPlan says."""

    def __init__(self, snap: JobSnapshot, opts: SinkOptions, previous: SyncRecord | None, plan: RunPlan):
        self.snap, self.opts, self.plan = snap, opts, plan
        self.enrich = plan.mode == ENRICH
        from_ledger = previous is not None and not plan.overwrite and previous.run_path is not None
        # a run W&B holds continues after its last step: nothing at or below it is logged again
        self.start_step = 0 if plan.overwrite else max(previous.steps_synced if from_ledger else 0, plan.last_step)
        self.done: set[str] = set(previous.artifacts) if from_ledger else set()
        self.resuming = (from_ledger or plan.exists) and not plan.rewind
        self.logged_last: int | None = None  # the last history step logged by this sync
        self.problems: list[str] = []
        self.n_items: dict[str, int | None] = {"train": None, "valid": None}
        self.run: Any = None

    def open(self) -> None:
        ws, snap = self.opts.wandb, self.snap
        kwargs = dict(self.opts.init_kwargs)
        check_init_kwargs(kwargs)
        tags = run_tags(snap, kwargs.pop("tags", None))
        if self.enrich:  # OpenAI's run: its display name stays; online its tags come back on resume
            how: dict[str, Any] = {"resume": "must" if self.plan.exists and not ws.offline else "allow"}
            if ws.offline:  # uploaded later onto OpenAI's run: its tags and name, or they would be replaced
                how["tags"] = merged_tags(self.plan.openai_tags, tags)
                how["name"] = self.plan.openai_name
        elif self.plan.rewind:  # an overwrite: W&B cuts the run back to step 0, then every step is logged once
            how = {"name": snap.id, "tags": tags, "resume_from": f"{snap.id}?_step=0"}
        else:
            how = {"name": snap.id, "tags": tags, "resume": "allow" if self.resuming else None}
        self.run = init_run(ws, snap.id, **how, **kwargs)
        if self.enrich and not ws.offline:
            self.run.tags = tuple(merged_tags(self.run.tags, tags))

    def has(self, key: str) -> bool:
        """The run already holds this key (a resumed run's summary comes back from W&B): not logged again."""
        return self.resuming and not self.plan.overwrite and key in self.run.summary.keys()

    def extra_step(self) -> int:
        """The step for rows that are not metrics (tables): the last row this sync logged, else the
        first step W&B accepts (a resumed run drops any lower one), after the job's own steps."""
        if self.logged_last is not None:
            return self.logged_last
        accepted = int(getattr(self.run, "starting_step", 0) or 0)  # online, a resumed run's next step
        if self.enrich or self.resuming:  # never on a row logged before (offline: uploaded later, resumed)
            return max(accepted, self.start_step + 1, self.snap.last_step + 1)
        return max(accepted, self.snap.last_step)

    def log_history(self) -> int:
        if self.enrich:  # OpenAI logged the metrics: not one row of them again, nor a second spelling
            return max(self.start_step, self.snap.last_step)
        last = self.start_step
        for step, row in _rows(self.snap.metrics, self.start_step):
            self.run.log(row, step=step)
            last = self.logged_last = step
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
        key = f"{ref.role}_data"  # W&B's logger logs the table in the run too, under these names
        if not self.has(key):
            self.run.log({key: run_copy(table)}, step=self.extra_step())
        self.n_items[ref.role] = rows.total
        self.done.add(ref.artifact_name)

    def log_final(self) -> None:
        """What only a finished job has: tables of events/checkpoints, job details, the model."""
        snap = self.snap
        if "tables" not in self.done and snap.events_read:
            if not self.has("events"):
                self.run.log({"events": _events_table(snap), "checkpoints": _checkpoints_table(snap)},
                             step=self.extra_step())
            self.done.add("tables")
        if "job_details" not in self.done:
            self._json_artifact("job_details", "job_details", "job_details.json", snap.job)
            self.done.add("job_details")
        if snap.status == "succeeded" and "model" not in self.done:
            metadata = dict(snap.job)
            metadata["checkpoints"] = [{"step_number": c.get("step_number"), "model": c.get("fine_tuned_model_checkpoint"),
                                        "metrics": c.get("metrics")} for c in snap.checkpoints]
            # one JSON file, the metadata, as W&B's logger writes it: code written against it opens
            # `glob("*.json")[0]`; the checkpoints are in the metadata and the run's `checkpoints` table
            self._json_artifact(self.opts.model_artifact_name, self.opts.model_artifact_type, "model_metadata.json",
                                metadata)
            self.done.add("model")

    def _json_artifact(self, name: str, type_: str, filename: str, metadata: dict[str, Any]) -> None:
        artifact = wandb.Artifact(artifact_name(name), type=type_, metadata=metadata)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            path.write_text(json.dumps(metadata, indent=2))
            artifact.add_file(str(path), name=filename)
            self.run.log_artifact(artifact, aliases=["latest", self.snap.id])

    def config(self) -> dict[str, Any]:
        """The run's config: the job, plus the link to OpenAI's run when it is elsewhere. Added to
        OpenAI's run: only what it lacks (its own keys and values stay as OpenAI wrote them)."""
        config = run_config(self.snap, self.n_items["train"], self.n_items["valid"])
        if self.resuming:  # keep the counts an earlier sync found
            config = {k: v for k, v in config.items() if not (k in ("n_train", "n_valid") and v is None)}
        if not self.enrich:
            if self.plan.openai_run:
                config["openai_wandb_run"] = self.plan.openai_run
            return config
        theirs = set(OPENAI_CONFIG_KEYS) | set(self.run.config.keys())
        return {k: v for k, v in config.items() if k not in theirs}

    def summary(self) -> dict[str, Any]:
        summary = run_summary(self.snap)
        if self.enrich:  # OpenAI's values stay: only the keys its run lacks
            theirs = set(self.run.summary.keys())  # (wandb's Summary has no `in` of its own)
            summary = {k: v for k, v in summary.items() if k not in theirs}
        return summary

    def run_path(self) -> str:
        if self.opts.wandb.offline:
            return str(Path(self.run.dir).parent)  # the offline-run-… folder that `wandb sync` uploads
        return "/".join(self.run.path) if isinstance(self.run.path, (list, tuple)) else str(self.run.path)


def cannot_rewind(job_id: str, host: str, exc: BaseException) -> str:
    """One line for an overwrite the server cannot do without duplicating every step."""
    return (f"{host} cannot rewind runs, which overwriting {job_id} needs ({_reason(exc)}); nothing was written, "
            "so no step is there twice: delete the run in W&B, then sync the job again")


def _reason(exc: BaseException) -> str:
    """One line for a failure while writing: a full or unwritable disk says so and where."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename2 or exc.filename
        return f"{exc.strerror}" + (f" ({where})" if where else "")
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def write_snapshot(snap: JobSnapshot, opts: SinkOptions, previous: SyncRecord | None = None,
                   plan: RunPlan | None = None) -> SinkResult:
    """Log the snapshot (or what is missing of it) to its W&B run, and finish the run. Returns only
    once the run is confirmed written (offline: read back from its transaction log); otherwise
    raises SinkError, and the caller must not record anything as synced."""
    plan = plan or RunPlan()
    writer = _RunWriter(snap, opts, previous, plan)
    try:
        writer.open()
    except ConfigError:
        raise
    except Exception as exc:
        if plan.rewind and "rewind" in str(exc).lower():
            raise SinkError(cannot_rewind(snap.id, opts.wandb.host, exc)) from None
        if plan.mode == ENRICH and plan.exists and "resume" in str(exc).lower():
            raise SinkError(f"OpenAI's W&B run {plan.openai_run} could not be resumed (gone since it was listed?); "
                            f"sync again: {_reason(exc)}") from None
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
            writer.log_final()
        writer.run.config.update(writer.config(), allow_val_change=True)
        writer.run.summary.update(writer.summary())
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
        problem = unwritten(Path(result.run_path), writer.logged_last)
        if problem:
            raise SinkError(f"W&B did not write the whole run to disk: {problem}")
    return result
