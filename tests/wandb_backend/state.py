"""What the test W&B backend knows: runs, artifacts, uploads and every request it answered.

All of it lives in one `BackendState` guarded by one lock: wandb-core sends from several
connections at once, and tests read the state while runs are still uploading.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

RunKey = tuple[str, str, str]  # (entity, project, run id)
CollectionKey = tuple[str, str, str]  # (entity, project, collection name)

HISTORY_FILE = "wandb-history.jsonl"
EVENTS_FILE = "wandb-events.jsonl"
SUMMARY_FILE = "wandb-summary.json"
OUTPUT_FILE = "output.log"


class NotUnderstood(Exception):
    """A request the backend cannot answer faithfully: answered 400 and recorded in `errors`."""


class GraphQLError(Exception):
    """An answer, not a backend error: HTTP 200 with `errors` and null `data`, as a GraphQL server
    answers a query it refuses (e.g. a field its schema lacks)."""


def now_iso() -> str:
    """W&B's timestamp format: UTC, seconds, no zone suffix."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def gql_id(kind: str, local: str | int) -> str:
    """W&B's global ids are base64 of `Type:local-id`; wandb decodes some of them (artifact ids)."""
    return base64.b64encode(f"{kind}:{local}".encode()).decode()


@dataclass
class RunRecord:
    entity: str
    project: str
    run_id: str
    storage_id: str
    created_at: str = field(default_factory=now_iso)
    display_name: str | None = None
    config: dict[str, Any] = field(default_factory=dict)  # W&B's shape: {key: {"value": ..., "desc": ...}}
    summary: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    job_type: str | None = None
    group: str | None = None
    notes: str | None = None
    state: str = "running"
    exit_code: int | None = None
    history: list[str] = field(default_factory=list)  # raw JSON lines, in line order
    events: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # artifact ids used (use edges)
    outputs: list[str] = field(default_factory=list)  # artifact ids logged

    @property
    def key(self) -> RunKey:
        return (self.entity, self.project, self.run_id)

    @property
    def path(self) -> str:
        return "/".join(self.key)

    def history_rows(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.history]

    def config_values(self) -> dict[str, Any]:
        """The config as the user set it: W&B's `{"value": ...}` wrappers and `_wandb` removed."""
        return {k: v.get("value") if isinstance(v, dict) else v
                for k, v in self.config.items() if k != "_wandb"}

    def wandb_config(self, keys: list[str]) -> dict[str, Any]:
        """The `_wandb` config entry (telemetry...), restricted to `keys`."""
        entry = self.config.get("_wandb") or {}
        value = entry.get("value", {}) if isinstance(entry, dict) else {}
        return {k: value[k] for k in keys if k in value}


@dataclass
class ArtifactRecord:
    id: str
    entity: str
    project: str
    collection: str
    type: str
    digest: str
    version_index: int
    created_at: str = field(default_factory=now_iso)
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    state: str = "PENDING"
    manifest: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # uploaded content by manifest path
    created_by: RunKey | None = None  # the run that logged it (its output)
    used_by: list[RunKey] = field(default_factory=list)  # runs that used it (their input)
    history_step: int | None = None
    client_id: str | None = None  # wandb's own id for it, resolved by ClientIDMapping

    @property
    def collection_key(self) -> CollectionKey:
        return (self.entity, self.project, self.collection)

    @property
    def version(self) -> str:
        return f"v{self.version_index}"

    @property
    def entries(self) -> dict[str, Any]:
        return (self.manifest or {}).get("contents", {})

    @property
    def size(self) -> int:
        return sum(int(e.get("size") or 0) for e in self.entries.values())

    @property
    def file_count(self) -> int:
        return len(self.entries)


@dataclass
class CollectionRecord:
    entity: str
    project: str
    name: str
    type: str
    id: str
    versions: list[str] = field(default_factory=list)  # artifact ids, index = version
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> artifact id (one version per alias)

    def aliases_of(self, artifact_id: str) -> list[str]:
        return sorted(a for a, target in self.aliases.items() if target == artifact_id)


@dataclass(frozen=True)
class Upload:
    """Where a PUT to a URL the backend handed out lands."""
    kind: str  # "run-file" | "artifact-file" | "artifact-manifest"
    owner: RunKey | str  # the run (run files) or the artifact id
    name: str


@dataclass
class RequestRecord:
    method: str
    path: str
    operation: str | None  # GraphQL operation name
    key: str | None  # the API key it carried
    status: int = 0
    gzipped: bool = False  # the body came with Content-Encoding: gzip


class BackendState:
    """The backend's data; every public method takes the lock, so tests can read while wandb writes."""

    def __init__(self, api_keys: dict[str, str]):
        self.api_keys = dict(api_keys)  # key -> entity (the viewer's username too)
        self.lock = threading.RLock()
        self.runs: dict[RunKey, RunRecord] = {}
        self.artifacts: dict[str, ArtifactRecord] = {}
        self.collections: dict[CollectionKey, CollectionRecord] = {}
        self.uploads: dict[str, Upload] = {}
        self.blobs: dict[str, bytes] = {}  # artifact file content by md5 hex, as W&B's storage serves it
        self.requests: list[RequestRecord] = []
        self.errors: list[str] = []
        self.project_ids: dict[tuple[str, str], int] = {}
        self._ids = itertools.count(1)
        # W&B's rewind (`resume_from`) is a preview feature of its cloud; a self-managed server lacks it
        self.rewind_supported = True

    def next_id(self) -> int:
        return next(self._ids)

    # ---- runs ------------------------------------------------------------------------------------
    def run(self, entity: str, project: str, run_id: str) -> RunRecord | None:
        with self.lock:
            return self.runs.get((entity, project, run_id))

    def ensure_run(self, entity: str, project: str, run_id: str) -> RunRecord:
        with self.lock:
            key = (entity, project, run_id)
            if key not in self.runs:
                self.project_internal_id(entity, project)
                storage_id = gql_id("Run", f"v1:{run_id}:{project}:{entity}")
                self.runs[key] = RunRecord(entity, project, run_id, storage_id)
            return self.runs[key]

    def delete_run(self, entity: str, project: str, run_id: str) -> None:
        """A run deleted in W&B's UI: gone from listings and lookups; the artifacts it logged stay."""
        with self.lock:
            key = (entity, project, run_id)
            del self.runs[key]
            for artifact in self.artifacts.values():  # its use edges go with it
                if key in artifact.used_by:
                    artifact.used_by.remove(key)

    def rewind_run(self, run: RunRecord, step: float) -> None:
        """W&B's rewind: the history cut after `step`, the summary recomputed from what is left, the
        console log reset; config, tags and artifacts kept."""
        with self.lock:
            kept = [line for line, row in zip(run.history, run.history_rows()) if row.get("_step", -1) <= step]
            run.history = kept
            summary: dict[str, Any] = {}
            for line in kept:
                summary.update(json.loads(line))
            run.summary = summary
            run.logs = []
            run.state = "running"

    def project_runs(self, entity: str, project: str) -> list[RunRecord]:
        with self.lock:
            return [r for r in self.runs.values() if (r.entity, r.project) == (entity, project)]

    def project_exists(self, entity: str, project: str) -> bool:
        with self.lock:
            return (entity, project) in self.project_ids

    def project_internal_id(self, entity: str, project: str) -> int:
        """A project exists once something was created in it; this creates it."""
        with self.lock:
            return self.project_ids.setdefault((entity, project), self.next_id())

    # ---- artifacts -------------------------------------------------------------------------------
    def collection(self, entity: str, project: str, name: str) -> CollectionRecord | None:
        with self.lock:
            return self.collections.get((entity, project, name))

    def versions(self, entity: str, project: str, name: str) -> list[ArtifactRecord]:
        """Every version of a collection, v0 first (tests read this)."""
        with self.lock:
            coll = self.collections.get((entity, project, name))
            return [self.artifacts[i] for i in coll.versions] if coll else []

    def aliases(self, artifact: ArtifactRecord) -> list[str]:
        with self.lock:
            coll = self.collections.get(artifact.collection_key)
            return coll.aliases_of(artifact.id) if coll else []

    def resolve(self, entity: str, project: str, name: str) -> ArtifactRecord | None:
        """`name:alias` or `name:vN` (no suffix means `latest`) -> the artifact, or None."""
        base, _, alias = name.partition(":")
        alias = alias or "latest"
        with self.lock:
            coll = self.collections.get((entity, project, base))
            if coll is None:
                return None
            if alias.startswith("v") and alias[1:].isdigit():
                index = int(alias[1:])
                return self.artifacts[coll.versions[index]] if index < len(coll.versions) else None
            target = coll.aliases.get(alias)
            return self.artifacts[target] if target else None

    def set_alias(self, artifact: ArtifactRecord, alias: str) -> None:
        """An alias names one version of a collection: setting it moves it off any other version."""
        with self.lock:
            self.collections[artifact.collection_key].aliases[alias] = artifact.id

    # ---- uploads ---------------------------------------------------------------------------------
    def add_upload(self, upload: Upload) -> str:
        with self.lock:
            token = f"u{self.next_id()}"
            self.uploads[token] = upload
            return token

    def store_upload(self, token: str, body: bytes) -> bool:
        with self.lock:
            upload = self.uploads.get(token)
            if upload is None:
                return False
            if upload.kind == "run-file":
                self.ensure_run(*upload.owner).files[upload.name] = body
            elif upload.kind == "artifact-file":
                self.artifacts[upload.owner].files[upload.name] = body
                self.blobs[hashlib.md5(body).hexdigest()] = body
            else:  # the manifest: tells the artifact's entries, sizes and digests
                self.artifacts[upload.owner].manifest = json.loads(body or b"{}")
            return True

    # ---- file_stream -----------------------------------------------------------------------------
    def apply_file_stream(self, entity: str, project: str, run_id: str, request: dict[str, Any]) -> None:
        """One file_stream POST: lines placed at their offsets, the summary, and the end of the run."""
        with self.lock:
            run = self.runs.get((entity, project, run_id))
            if run is None:
                raise NotUnderstood(f"file_stream for a run never upserted: {entity}/{project}/{run_id}")
            for name, chunk in (request.get("files") or {}).items():
                _apply_file_chunk(run, name, chunk)
            if request.get("complete"):
                run.exit_code = int(request.get("exitcode") or 0)
                run.state = "finished" if run.exit_code == 0 else "failed"
            elif run.state != "running":
                run.state = "running"  # a resumed run streams again

    # ---- bookkeeping -----------------------------------------------------------------------------
    def record(self, request: RequestRecord) -> RequestRecord:
        with self.lock:
            self.requests.append(request)
        return request

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def _apply_file_chunk(run: RunRecord, name: str, chunk: dict[str, Any]) -> None:
    offset, content = int(chunk.get("offset") or 0), list(chunk.get("content") or [])
    if name == SUMMARY_FILE:
        if content:  # one line, the whole summary; the last line wins
            run.summary = json.loads(content[-1])
        return
    lines = {HISTORY_FILE: run.history, EVENTS_FILE: run.events, OUTPUT_FILE: run.logs}.get(name)
    if lines is None:
        raise NotUnderstood(f"file_stream file {name!r} is not supported")
    if offset > len(lines):
        raise NotUnderstood(f"file_stream {name} offset {offset} leaves a gap after line {len(lines)}")
    lines[offset:offset + len(content)] = content  # a retried chunk overwrites, it does not duplicate
