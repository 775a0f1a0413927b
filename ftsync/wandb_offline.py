"""Reading W&B offline runs back from their transaction log (`run-<id>.wandb`).

wandb ships no Python reader for it. The format: a 7-byte header (`:W&B`, magic 0xBEE1
little-endian, version 0), then LevelDB-log framing in 32 KiB blocks (crc32 u32, length u16,
type u8: 1 full, 2 first, 3 middle, 4 last; under 7 bytes left in a block is padding), each
record a `wandb_internal_pb2.Record`. Used by the tests to check what a sync logged, and by the
dashboard to list offline runs waiting for upload.
"""

from __future__ import annotations

import json
import os
import shlex
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = b":W&B"


@dataclass
class ArtifactRecord:
    name: str
    type: str
    aliases: list[str]
    metadata: dict[str, Any]
    files: dict[str, str]  # path in the artifact -> local staged copy


@dataclass
class OfflineRun:
    path: Path  # the offline-run-… folder
    run_id: str = ""
    project: str = ""
    entity: str = ""
    job_type: str = ""
    display_name: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per logged row, with `_step`
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    resume: bool = False  # started with resume= set (a later sync adding to the same run)
    start_time: float = 0.0
    exit_code: int | None = None

    @property
    def synced(self) -> bool:
        """Whether `wandb sync` has uploaded it (it leaves a `.synced` marker)."""
        return any(self.path.glob("*.wandb.synced"))

    def metrics(self) -> list[dict[str, Any]]:
        """History rows without W&B's own `_` keys and without media (tables); a row of tables alone
        is not a metrics row."""
        rows = [{k: v for k, v in row.items() if not k.startswith("_") and not isinstance(v, dict)} | {"_step": row["_step"]}
                for row in self.history]
        return [row for row in rows if len(row) > 1]

    def artifact(self, name: str) -> ArtifactRecord:
        matches = [a for a in self.artifacts if a.name == name]
        if not matches:
            raise KeyError(f"no artifact {name!r} in {self.path.name}: {[a.name for a in self.artifacts]}")
        return matches[-1]


def records(path: Path) -> Iterator[bytes]:
    """The raw protobuf records of a transaction log (a record cut short at the end is left out:
    that is where a full disk or a killed writer stopped)."""
    data = Path(path).read_bytes()
    if data[:4] != HEADER:
        raise ValueError(f"{path} is not a W&B transaction log")
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if pos + 7 + length > len(data):
            return
        payload = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 1:
            yield payload
        elif kind == 2:
            pending = payload
        elif kind == 3:
            pending += payload
        elif kind == 4:
            yield pending + payload
            pending = b""


def unwritten(folder: Path, last_step: int | None, settle: float = 2.0) -> str | None:
    """Why a finished offline run is not wholly on disk, or None: its transaction log must hold the
    exit record and `last_step` (when steps were logged). wandb writes the log in its own process,
    which may still be flushing when `finish()` returns, and never tells its caller that a write
    failed (e.g. on a full disk): so the log is read back until it is complete, or has not grown
    for `settle` seconds."""
    last_size, since = -1, time.monotonic()
    while True:
        problem = _incomplete(folder, last_step)
        if problem is None:
            return None
        size = sum(p.stat().st_size for p in Path(folder).glob("run-*.wandb"))
        if size != last_size:
            last_size, since = size, time.monotonic()
        elif time.monotonic() - since >= settle:
            return problem
        time.sleep(0.05)


def _incomplete(folder: Path, last_step: int | None) -> str | None:
    from wandb.proto import wandb_internal_pb2 as pb

    logs = sorted(Path(folder).glob("run-*.wandb"))
    if not logs:
        return f"no transaction log in {folder}"
    newest_step, exited = -1, False
    try:
        for raw in records(logs[-1]):
            rec = pb.Record.FromString(raw)
            kind = rec.WhichOneof("record_type")
            if kind == "history":
                newest_step = max(newest_step, rec.history.step.num)
            elif kind == "exit":
                exited = True
    except (OSError, ValueError) as exc:  # unreadable, or not a log at all (its header never written)
        return f"its log cannot be read back ({exc})"
    if last_step is not None and newest_step < last_step:
        return f"its log ends at step {max(newest_step, 0)} of {last_step} ({folder})"
    if not exited:
        return f"its log has no exit record ({folder})"
    return None


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _put(target: dict[str, Any], item: Any) -> None:
    """Set an item's value at its (possibly nested) key: tables and media arrive as nested keys."""
    path = [item.key] if item.key else list(item.nested_key)
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = _value(item.value_json)


def read_run(folder: Path, *, header_only: bool = False) -> OfflineRun:
    """Everything a run logged, folded as W&B would show it (`header_only`: stop at the run record)."""
    from wandb.proto import wandb_internal_pb2 as pb

    folder = Path(folder)
    logs = sorted(folder.glob("run-*.wandb"))
    if not logs:
        raise FileNotFoundError(f"no run-*.wandb in {folder}")
    run = OfflineRun(path=folder)
    for raw in records(logs[0]):
        rec = pb.Record()
        rec.ParseFromString(raw)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            r = rec.run
            run.run_id, run.project, run.entity = r.run_id, r.project, r.entity
            run.job_type, run.display_name, run.tags = r.job_type, r.display_name, list(r.tags)
            run.resume = bool(r.resume)
            run.start_time = r.start_time.seconds + r.start_time.nanos / 1e9
            for item in r.config.update:
                run.config[item.key] = _value(item.value_json)
            if header_only:
                break
        elif kind == "config":
            for item in rec.config.update:
                run.config[item.key or "/".join(item.nested_key)] = _value(item.value_json)
            for item in rec.config.remove:
                run.config.pop(item.key, None)
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in rec.history.item:
                _put(row, item)
            run.history.append(row)
        elif kind == "summary":
            for item in rec.summary.update:
                _put(run.summary, item)
        elif kind == "artifact":
            a = rec.artifact
            run.artifacts.append(ArtifactRecord(a.name, a.type, list(a.aliases), _value(a.metadata) if a.metadata else {},
                                                {c.path: c.local_path for c in a.manifest.contents}))
        elif kind == "exit":
            run.exit_code = rec.exit.exit_code
    run.config.pop("_wandb", None)
    return run


def offline_runs(wandb_dir: Path) -> list[OfflineRun]:
    """Every offline run under `<dir>/wandb/` (or `dir` itself), oldest first."""
    base = Path(wandb_dir)
    base = base / "wandb" if (base / "wandb").is_dir() else base
    runs = [read_run(p) for p in base.glob("offline-run-*") if any(p.glob("run-*.wandb"))]
    return sorted(runs, key=lambda r: r.start_time)


def upload_command(folders: list[str]) -> str | None:
    """The exact command that uploads these offline runs (`wandb sync` replays a resumed run's
    folders in start-time order); a glob over their common folder when there are many. Every path
    is shell-quoted (the glob stays outside the quotes), so the command is safe to paste."""
    if not folders:
        return None
    if len(folders) <= 5:
        return "wandb sync " + " ".join(shlex.quote(f) for f in folders)
    return f"wandb sync {shlex.quote(os.path.commonpath(folders) + '/')}offline-run-*"


def pending_uploads(wandb_dir: Path) -> list[OfflineRun]:
    """Offline runs not uploaded yet (no `.synced` marker), read only as far as their run record."""
    base = Path(wandb_dir) / "wandb"
    if not base.is_dir():
        return []
    runs = []
    for folder in base.glob("offline-run-*"):
        try:
            runs.append(read_run(folder, header_only=True))
        except (OSError, ValueError):  # no log, or one whose writer died before its header: nothing to upload
            continue
    return sorted((r for r in runs if not r.synced), key=lambda r: r.start_time)
