"""The GraphQL operations the test W&B backend answers, one handler per operation name.

No GraphQL engine: each handler returns the `data` object for its operation, with every field
wandb 0.31 selects for it (wandb's models ignore extra fields, so a superset is fine). An
operation without a handler, or variables a handler cannot make sense of, raise `NotUnderstood`:
the server answers 400 and records the error, so a test sees it instead of wandb retrying quietly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .state import (
    ArtifactRecord,
    BackendState,
    CollectionRecord,
    GraphQLError,
    NotUnderstood,
    RunRecord,
    Upload,
    gql_id,
)

_OPERATION = re.compile(r"\b(query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)")
# wandb resumes from the last history line; W&B sends a short tail, one line is what wandb reads
_HISTORY_TAIL = 1
# what `ServerFeaturesQuery` reports as enabled; features we leave off keep wandb on simpler paths
# (FILESTREAM_GZIP only gzips when a run also sets x_file_stream_no_gzip=False)
ENABLED_FEATURES = ("LARGE_FILENAMES", "ARTIFACT_TAGS", "CLIENT_IDS", "USE_ARTIFACT_WITH_ENTITY_AND_PROJECT_INFORMATION",
                    "PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP", "TOTAL_COUNT_IN_FILE_CONNECTION", "FILESTREAM_GZIP")


@dataclass
class Context:
    """Who is asking, and where upload URLs must point."""
    state: BackendState
    entity: str  # the entity (and username) of the key the request carried
    base_url: str
    query: str = ""  # the query text, for operations that share a handler

    def upload_url(self, upload: Upload) -> str:
        return f"{self.base_url}/_upload/{self.state.add_upload(upload)}"


Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {}


def operation_name(query: str) -> str | None:
    """`query Runs(...)` -> "Runs" (wandb-core writes `mutation UpsertBucket (`, with a space)."""
    match = _OPERATION.search(query)
    return match.group(2) if match else None


def execute(ctx: Context, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Run one GraphQL request; returns its `data`."""
    name = operation_name(query)
    if name is None:
        raise NotUnderstood(f"no operation name in GraphQL query: {query[:200]!r}")
    handler = OPERATIONS.get(name)
    if handler is None:
        raise NotUnderstood(f"GraphQL operation {name!r} is not implemented; query: {query[:300]!r}")
    with ctx.state.lock:  # one operation at a time keeps read-modify-write steps atomic
        return handler(ctx, variables or {})


def operation(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            OPERATIONS[name] = handler
        return handler
    return register


def _json_object(text: str | None, what: str) -> dict[str, Any]:
    if text in (None, ""):
        return {}
    try:
        value = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise NotUnderstood(f"{what} is not JSON: {text!r:.200}") from exc
    if not isinstance(value, dict):
        raise NotUnderstood(f"{what} is not a JSON object: {text!r:.200}")
    return value


# ---- users and server ------------------------------------------------------------------------
def _viewer(ctx: Context) -> dict[str, Any]:
    return {
        "id": gql_id("User", ctx.entity), "entity": ctx.entity, "username": ctx.entity, "name": ctx.entity,
        "email": f"{ctx.entity}@example.com", "admin": False, "flags": "{}", "deletedAt": None,
        "teams": {"edges": []}, "apiKeys": {"edges": []},
    }


@operation("Viewer", "GetViewer", "GetDefaultEntity")
def viewer(ctx: Context, _: dict[str, Any]) -> dict[str, Any]:
    return {"viewer": _viewer(ctx)}


@operation("ServerFeaturesQuery")
def server_features(ctx: Context, _: dict[str, Any]) -> dict[str, Any]:
    return {"serverInfo": {"features": [{"name": n, "isEnabled": True} for n in ENABLED_FEATURES]}}


@operation("OrganizationCoreWeaveOrganizationID")
def coreweave_organization(ctx: Context, _: dict[str, Any]) -> dict[str, Any]:
    return {"entity": {"organization": None}}  # not on CoreWeave: wandb-core skips its metadata probe


@operation("XXHashDigestsEnabled")
def xxhash_digests(ctx: Context, _: dict[str, Any]) -> dict[str, Any]:
    return {"entity": {"xxhashDigestsEnabled": False}}


# ---- runs --------------------------------------------------------------------------------------
def _project_node(ctx: Context, entity: str, project: str) -> dict[str, Any]:
    internal_id = ctx.state.project_internal_id(entity, project)
    return {"id": gql_id("Project", internal_id), "internalId": str(internal_id), "name": project,
            "entity": {"id": gql_id("Entity", entity), "name": entity}, "entityName": entity}


def _entity_project(ctx: Context, v: dict[str, Any], entity_key: str, project_key: str) -> tuple[str, str]:
    return v.get(entity_key) or ctx.entity, v.get(project_key) or "uncategorized"


@operation("UpsertBucket")
def upsert_bucket(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """Create or update a run: wandb-core names it by (entity, project, name), wandb.Api by `id`."""
    if v.get("name"):
        entity, project = _entity_project(ctx, v, "entity", "project")
        inserted = ctx.state.run(entity, project, v["name"]) is None
        run = ctx.state.ensure_run(entity, project, v["name"])
    elif v.get("id"):
        run = _run_by_storage_id(ctx, v["id"])
        inserted = False
    else:
        raise NotUnderstood(f"UpsertBucket without a run name or id: {sorted(v)}")
    _apply_run_fields(run, v)
    return {"upsertBucket": {"bucket": _bucket(ctx, run), "inserted": inserted}}


def _run_by_storage_id(ctx: Context, storage_id: str) -> RunRecord:
    for run in ctx.state.runs.values():
        if run.storage_id == storage_id:
            return run
    raise NotUnderstood(f"UpsertBucket for an unknown run id {storage_id!r}")


def _apply_run_fields(run: RunRecord, v: dict[str, Any]) -> None:
    if v.get("config") is not None:  # wandb sends the whole config each time
        run.config = _json_object(v["config"], "UpsertBucket config")
    if v.get("summaryMetrics") is not None:
        run.summary = _json_object(v["summaryMetrics"], "UpsertBucket summaryMetrics")
    for var, attr in (("displayName", "display_name"), ("display_name", "display_name"), ("jobType", "job_type"),
                      ("groupName", "group"), ("notes", "notes")):
        if v.get(var) is not None:
            setattr(run, attr, v[var])
    if v.get("tags") is not None:
        run.tags = list(v["tags"])
    if v.get("state"):
        run.state = v["state"]


def _bucket(ctx: Context, run: RunRecord) -> dict[str, Any]:
    return {"id": run.storage_id, "name": run.run_id, "displayName": run.display_name, "description": run.notes,
            "config": json.dumps(run.config), "sweepName": None, "historyLineCount": len(run.history),
            "project": _project_node(ctx, run.entity, run.project)}


@operation("RunResumeStatus")
def run_resume_status(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    entity, project = _entity_project(ctx, v, "entity", "project")
    if not ctx.state.project_exists(entity, project):
        return {"model": None}
    run = ctx.state.run(entity, project, v["name"])
    model = _project_node(ctx, entity, project)
    model["bucket"] = _resume_bucket(run) if run else None
    return {"model": model}


def _resume_bucket(run: RunRecord) -> dict[str, Any]:
    """What wandb resumes from: line counts (file_stream offsets), the last history row (next step),
    the summary and the config; `wandbConfig` must hold "t" or wandb treats the run as never started."""
    wandb_config = run.wandb_config(["t"]) or {"t": {}}
    return {
        "id": run.storage_id, "name": run.run_id, "displayName": run.display_name,
        "summaryMetrics": json.dumps(run.summary), "config": json.dumps(run.config),
        "historyLineCount": len(run.history), "eventsLineCount": len(run.events), "logLineCount": len(run.logs),
        "historyTail": json.dumps(run.history[-_HISTORY_TAIL:]), "eventsTail": json.dumps(run.events[-1:]),
        "tags": run.tags, "notes": run.notes, "wandbConfig": json.dumps(wandb_config),
    }


@operation("RewindRun")
def rewind_run(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """`wandb.init(resume_from="<id>?_step=N")`: the run cut back to step N, as wandb-core's
    runbranch/rewind.go reads it (history line count, config, ids). A server without the feature
    refuses the field, as a GraphQL schema without it does."""
    if not ctx.state.rewind_supported:
        raise GraphQLError('Cannot query field "rewindRun" on type "Mutation".')
    if v.get("metricName") != "_step":
        raise NotUnderstood(f"RewindRun on metric {v.get('metricName')!r}: only _step exists")
    entity, project = _entity_project(ctx, v, "entity", "project")
    run = ctx.state.run(entity, project, v["runName"])
    if run is None:
        return {"rewindRun": {"rewoundRun": None}}
    ctx.state.rewind_run(run, float(v["metricValue"]))
    return {"rewindRun": {"rewoundRun": {
        "id": run.storage_id, "name": run.run_id, "displayName": run.display_name, "description": run.notes,
        "config": json.dumps(run.config), "sweepName": None, "historyLineCount": len(run.history),
        "project": {"id": gql_id("Project", ctx.state.project_internal_id(entity, project)), "name": project,
                    "entity": {"id": gql_id("Entity", entity), "name": entity}},
    }}}


@operation("CreateRunFiles")
def create_run_files(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    run = ctx.state.ensure_run(v["entity"], v["project"], v["run"])
    files = [{"name": name, "uploadUrl": ctx.upload_url(Upload("run-file", run.key, name))} for name in v["files"]]
    return {"createRunFiles": {"runID": run.storage_id, "uploadHeaders": [], "files": files}}


def _run_node(ctx: Context, run: RunRecord) -> dict[str, Any]:
    """A run as `Runs`/`Run` select it (both the full and the lightweight fragment)."""
    last_step = run.history_rows()[-1].get("_step", len(run.history) - 1) if run.history else -1
    node = {
        "id": run.storage_id, "name": run.run_id, "displayName": run.display_name or run.run_id,
        "projectId": ctx.state.project_internal_id(run.entity, run.project), "sweepName": None,
        "state": run.state, "config": json.dumps(run.config), "group": run.group, "jobType": run.job_type,
        "commit": None, "readOnly": False, "createdAt": run.created_at, "heartbeatAt": run.created_at,
        "description": run.notes, "notes": run.notes, "tags": run.tags, "systemMetrics": "{}",
        "summaryMetrics": json.dumps(run.summary), "historyLineCount": len(run.history),
        "user": {"name": run.entity, "username": run.entity},
        "historyKeys": {"lastStep": last_step, "keys": {}},
    }
    # only the fields the query selects, as a GraphQL server answers: wandb's lazy fragment leaves out
    # summaryMetrics and config, and reads them later with one `Run` query per run
    return {k: v for k, v in node.items() if re.search(rf"\b{k}\b", ctx.query)} if ctx.query else node


def _project_run(ctx: Context, v: dict[str, Any]) -> tuple[bool, RunRecord | None]:
    entity, project = _entity_project(ctx, v, "entity", "project")
    return ctx.state.project_exists(entity, project), ctx.state.run(entity, project, v["name"])


@operation("Run")
def run_query(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    exists, run = _project_run(ctx, v)
    return {"project": {"run": _run_node(ctx, run) if run else None} if exists else None}


@operation("RunState")
def run_state(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    v = {**v, "name": v.get("name") or v.get("run")}  # the Python API says name, wandb-core says run
    exists, run = _project_run(ctx, v)
    node = {"id": run.storage_id, "state": run.state} if run else None
    return {"project": {"run": node} if exists else None}


@operation("Runs")
def runs_query(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    entity, project = _entity_project(ctx, v, "entity", "project")
    if not ctx.state.project_exists(entity, project):
        return {"project": None}
    runs = _filtered(ctx.state.project_runs(entity, project), _json_object(v.get("filters"), "Runs filters"))
    runs = _ordered(runs, v.get("order") or "+created_at")
    start = int(v.get("cursor") or 0)
    page = runs[start:start + int(v.get("perPage") or 50)]
    edges = [{"node": _run_node(ctx, run), "cursor": str(start + i + 1)} for i, run in enumerate(page)]
    node = _project_node(ctx, entity, project)
    node.update(runCount=len(runs), readOnly=False, runs={
        "edges": edges,
        "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None, "hasNextPage": start + len(page) < len(runs)},
    })
    return {"project": node}


_FILTER_FIELDS = {"name": "run_id", "displayName": "display_name", "display_name": "display_name",
                  "state": "state", "jobType": "job_type", "group": "group"}


def _filtered(runs: list[RunRecord], filters: dict[str, Any]) -> list[RunRecord]:
    """Equality on a few run fields and `tags: {"$in": [...]}`; anything else is not understood."""
    for key, want in filters.items():
        if key == "tags" and isinstance(want, dict) and set(want) == {"$in"}:
            runs = [r for r in runs if set(r.tags) & set(want["$in"])]
        elif key in _FILTER_FIELDS and not isinstance(want, dict):
            runs = [r for r in runs if getattr(r, _FILTER_FIELDS[key]) == want]
        else:
            raise NotUnderstood(f"Runs filter {key!r}: {want!r} is not supported by the test backend")
    return runs


def _ordered(runs: list[RunRecord], order: str) -> list[RunRecord]:
    if order.lstrip("+-") != "created_at":
        raise NotUnderstood(f"Runs order {order!r} is not supported by the test backend")
    # runs are created in order; created_at has one-second resolution, insertion order breaks ties
    return list(reversed(runs)) if order.startswith("-") else runs


def _run_or_fail(ctx: Context, v: dict[str, Any]) -> RunRecord:
    _, run = _project_run(ctx, v)
    if run is None:
        raise NotUnderstood(f"no run {v.get('entity')}/{v.get('project')}/{v.get('name')}")
    return run


@operation("RunFullHistory")
def run_full_history(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    run = _run_or_fail(ctx, v)
    samples = int(v.get("samples") or 500)
    return {"project": {"run": {"history": _sample(run.history, samples), "events": _sample(run.events, samples)}}}


@operation("HistoryPage")
def history_page(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """wandb-core's `scan_history`: the raw lines with minStep <= _step < maxStep."""
    run = _run_or_fail(ctx, {**v, "name": v["run"]})
    lines = [line for line, row in zip(run.history, run.history_rows())
             if v["minStep"] <= row.get("_step", -1) < v["maxStep"]]
    return {"project": {"run": {"history": lines[:int(v["pageSize"])]}}}


@operation("RunSampledHistory", "SampledHistoryPage")
def run_sampled_history(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """Rows holding every key of a spec (only those keys), within its optional inclusive step range."""
    run = _run_or_fail(ctx, {**v, "name": v.get("name") or v.get("run")})
    specs = v.get("specs") or [v["spec"]]  # the Python API sends a list, wandb-core one spec
    rows = run.history_rows()
    result = []
    for spec_text in specs:
        spec = _json_object(spec_text, "sampledHistory spec")
        keys = spec.get("keys") or []
        low, high = spec.get("minStep", float("-inf")), spec.get("maxStep", float("inf"))
        matching = [{k: row[k] for k in keys} for row in rows
                    if all(k in row for k in keys) and low <= row.get("_step", -1) <= high]
        result.append(_sample(matching, int(spec.get("samples") or 500)))
    return {"project": {"run": {"sampledHistory": result}}}


@operation("RunParquetHistory")
def run_parquet_history(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """No exported parquet files: every step is "live", so wandb-core pages through HistoryPage."""
    run = _run_or_fail(ctx, {**v, "name": v["runName"]})
    live = [{"_step": float(row["_step"])} for row in run.history_rows() if "_step" in row]
    return {"project": {"run": {"parquetHistory": {"parquetUrls": [], "liveData": live}}}}


@operation("RunHistoryKeys")
def run_history_keys(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    return {"project": {"run": {"historyKeys": _run_node(ctx, _run_or_fail(ctx, v))["historyKeys"]}}}


def _sample(items: list[Any], samples: int) -> list[Any]:
    """Up to `samples` items, evenly spaced, first and last included (W&B samples long histories)."""
    if len(items) <= samples:
        return list(items)
    if samples <= 1:
        return list(items[:max(samples, 0)])
    step = (len(items) - 1) / (samples - 1)
    return [items[round(i * step)] for i in range(samples)]


@operation("QueryRunInfo")
def query_run_info(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    run = ctx.state.run(v["entity"], v["project"], v["run"])
    node = {"displayName": run.display_name, "summaryMetrics": json.dumps(run.summary)} if run else None
    return {"project": {"run": node}}


# ---- artifacts ---------------------------------------------------------------------------------
def _artifact(ctx: Context, artifact_id: str) -> ArtifactRecord:
    artifact = ctx.state.artifacts.get(artifact_id)
    if artifact is None:
        raise NotUnderstood(f"unknown artifact id {artifact_id!r}")
    return artifact


def _collection_node(ctx: Context, coll: CollectionRecord) -> dict[str, Any]:
    return {"__typename": "ArtifactSequence", "id": coll.id, "name": coll.name,
            "project": _project_node(ctx, coll.entity, coll.project)}


def _alias_nodes(ctx: Context, artifact: ArtifactRecord, *, with_collection: bool) -> list[dict[str, Any]]:
    coll = ctx.state.collections[artifact.collection_key]
    nodes = []
    for alias in coll.aliases_of(artifact.id):
        node: dict[str, Any] = {"__typename": "ArtifactAlias", "id": gql_id("ArtifactAlias", f"{coll.id}:{alias}"),
                                "alias": alias}
        if with_collection:
            node["artifactCollection"] = _collection_node(ctx, coll)
        nodes.append(node)
    return nodes


def _artifact_node(ctx: Context, artifact: ArtifactRecord) -> dict[str, Any]:
    """An artifact with every field of wandb's `ArtifactFragment` (and what wandb-core reads)."""
    coll = ctx.state.collections[artifact.collection_key]
    latest = ctx.state.artifacts[coll.versions[-1]]
    sequence = {**_collection_node(ctx, coll), "latestArtifact": {"id": latest.id}}
    return {
        "__typename": "Artifact", "id": artifact.id, "artifactSequence": sequence,
        "versionIndex": artifact.version_index, "artifactType": {"name": artifact.type},
        "description": artifact.description, "metadata": json.dumps(artifact.metadata),
        "ttlDurationSeconds": -2, "ttlIsInherited": True, "tags": [], "historyStep": artifact.history_step,
        "state": artifact.state, "size": artifact.size, "digest": artifact.digest, "digestAlgorithm": "MANIFEST_MD5",
        "commitHash": None, "fileCount": artifact.file_count, "createdAt": artifact.created_at,
        "updatedAt": artifact.created_at, "aliases": _alias_nodes(ctx, artifact, with_collection=True),
    }


@operation("CreateArtifact")
def create_artifact(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """A new version, unless the collection already holds one with this digest (W&B dedupes)."""
    data = v.get("input") or v  # wandb-core sends an input object, the Python API loose variables
    entity, project = data.get("entityName") or ctx.entity, data["projectName"]
    name = data.get("artifactCollectionName") or (data.get("artifactCollectionNames") or [None])[0]
    if not name:
        raise NotUnderstood(f"CreateArtifact without a collection name: {sorted(data)}")
    coll = _ensure_collection(ctx, entity, project, name, data["artifactTypeName"])
    previous_latest = coll.versions[-1] if coll.versions else None
    artifact = _same_digest(ctx, coll, data["digest"]) or _new_version(ctx, coll, data)
    artifact.client_id = data.get("clientID") or artifact.client_id
    for alias in data.get("aliases") or []:
        # a new version gets `latest` when it is committed (CommitArtifact), not while pending
        if alias["alias"] != "latest" or artifact.state == "COMMITTED":
            ctx.state.set_alias(artifact, alias["alias"])
    latest = ctx.state.artifacts[previous_latest] if previous_latest and previous_latest != artifact.id else None
    latest_node = {"id": latest.id, "versionIndex": latest.version_index} if latest else None
    node = {"id": artifact.id, "state": artifact.state, "artifactSequence": {"id": coll.id, "latestArtifact": latest_node}}
    return {"createArtifact": {"artifact": node}}


def _ensure_collection(ctx: Context, entity: str, project: str, name: str, type_name: str) -> CollectionRecord:
    coll = ctx.state.collections.get((entity, project, name))
    if coll is None:
        coll = CollectionRecord(entity, project, name, type_name, gql_id("ArtifactSequence", ctx.state.next_id()))
        ctx.state.collections[(entity, project, name)] = coll
        ctx.state.project_internal_id(entity, project)
    elif coll.type != type_name:
        raise NotUnderstood(f"artifact {name!r} has type {coll.type!r}, cannot log it as {type_name!r}")
    return coll


def _same_digest(ctx: Context, coll: CollectionRecord, digest: str) -> ArtifactRecord | None:
    for artifact_id in coll.versions:
        if ctx.state.artifacts[artifact_id].digest == digest:
            return ctx.state.artifacts[artifact_id]
    return None


def _new_version(ctx: Context, coll: CollectionRecord, data: dict[str, Any]) -> ArtifactRecord:
    run_key = (coll.entity, coll.project, data["runName"]) if data.get("runName") else None
    artifact = ArtifactRecord(
        id=gql_id("Artifact", ctx.state.next_id()), entity=coll.entity, project=coll.project, collection=coll.name,
        type=coll.type, digest=data["digest"], version_index=len(coll.versions),
        description=data.get("description"), metadata=_json_object(data.get("metadata"), "artifact metadata"),
        created_by=run_key, history_step=data.get("historyStep"),
    )
    ctx.state.artifacts[artifact.id] = artifact
    coll.versions.append(artifact.id)
    if run_key:
        ctx.state.ensure_run(*run_key).outputs.append(artifact.id)
    return artifact


@operation("CreateArtifactManifest", "UpdateArtifactManifest")
def create_artifact_manifest(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    if "artifactManifestID" in v:  # UpdateArtifactManifest names the manifest, whose id is the artifact's
        artifact = _artifact(ctx, v["artifactManifestID"].removeprefix("manifest-"))
        field = "updateArtifactManifest"
    else:
        artifact = _artifact(ctx, v["artifactID"])
        field = "createArtifactManifest"
    file: dict[str, Any] = {"id": gql_id("File", f"manifest:{artifact.id}")}
    if v.get("includeUpload"):
        file.update(uploadUrl=ctx.upload_url(Upload("artifact-manifest", artifact.id, "wandb_manifest.json")),
                    uploadHeaders=[])
    return {field: {"artifactManifest": {"id": f"manifest-{artifact.id}", "file": file}}}


@operation("CreateArtifactFiles")
def create_artifact_files(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """Upload URLs, in the order asked (wandb-core pairs them by position)."""
    edges = []
    for spec in (v.get("input") or {}).get("artifactFiles") or []:
        artifact = _artifact(ctx, spec["artifactID"])
        url = ctx.upload_url(Upload("artifact-file", artifact.id, spec["name"]))
        edges.append({"node": {
            "storagePath": f"wandb_artifacts/{artifact.id}/{spec.get('md5', '')}", "uploadUrl": url,
            "uploadHeaders": [], "uploadMultipartUrls": None, "artifact": {"id": artifact.id},
        }})
    return {"createArtifactFiles": {"files": {"edges": edges}}}


@operation("CommitArtifact")
def commit_artifact(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    artifact = _artifact(ctx, v["artifactID"])
    if artifact.manifest is None:
        raise NotUnderstood(f"CommitArtifact {artifact.collection}:{artifact.version} before its manifest was uploaded")
    missing = [p for p, e in artifact.entries.items() if not e.get("ref") and p not in artifact.files]
    if missing:
        raise NotUnderstood(f"CommitArtifact {artifact.collection}:{artifact.version}: files never uploaded: {missing}")
    artifact.state = "COMMITTED"
    ctx.state.set_alias(artifact, "latest")  # W&B moves `latest` to the newest committed version
    return {"commitArtifact": {"artifact": {"id": artifact.id, "digest": artifact.digest}}}


@operation("UseArtifact")
def use_artifact(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    data = v.get("input") or v  # wandb-core sends an input object, the Python API loose variables
    artifact = _artifact(ctx, data["artifactID"])
    run = ctx.state.ensure_run(data.get("entityName") or ctx.entity, data["projectName"], data["runName"])
    if run.key not in artifact.used_by:
        artifact.used_by.append(run.key)
        run.inputs.append(artifact.id)
    return {"useArtifact": {"artifact": _artifact_node(ctx, artifact)}}


@operation("ArtifactByID")
def artifact_by_id(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    artifact = ctx.state.artifacts.get(v["id"])
    return {"artifact": _artifact_node(ctx, artifact) if artifact else None}


@operation("ArtifactType")
def artifact_type(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    entity, project = _entity_project(ctx, v, "entity", "project")
    if not ctx.state.project_exists(entity, project):
        return {"project": None}
    artifact = ctx.state.resolve(entity, project, v["name"])
    return {"project": {"artifact": {"artifactType": {"name": artifact.type}} if artifact else None}}


@operation("ArtifactMembershipByName")
def artifact_membership_by_name(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    if not ctx.state.project_exists(v["entity"], v["project"]):
        return {"project": None}
    artifact = ctx.state.resolve(v["entity"], v["project"], v["name"])
    return {"project": {"artifactCollectionMembership": _membership_node(ctx, artifact) if artifact else None}}


def _membership_node(ctx: Context, artifact: ArtifactRecord) -> dict[str, Any]:
    coll = ctx.state.collections[artifact.collection_key]
    return {
        "__typename": "ArtifactCollectionMembership", "id": gql_id("ArtifactCollectionMembership", artifact.id),
        "versionIndex": artifact.version_index, "createdAt": artifact.created_at,
        "aliases": _alias_nodes(ctx, artifact, with_collection=False),
        "artifactCollection": _collection_node(ctx, coll), "artifact": _artifact_node(ctx, artifact),
    }


@operation("RunOutputArtifacts", "RunInputArtifacts")
def run_artifacts(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """`run.logged_artifacts()` / `run.used_artifacts()` (the query aliases the field to `artifacts`)."""
    run = ctx.state.run(v["entity"], v["project"], v["run"])
    if run is None:
        return {"project": None}
    ids = run.outputs if "outputArtifacts" in ctx.query else run.inputs
    nodes = [_artifact_node(ctx, ctx.state.artifacts[i]) for i in ids]
    start = int(v.get("cursor") or 0)
    page = nodes[start:start + int(v.get("perPage") or 50)]
    end = start + len(page)
    return {"project": {"run": {"artifacts": {
        "totalCount": len(nodes), "edges": [{"node": node} for node in page],
        "pageInfo": {"__typename": "PageInfo", "endCursor": str(end), "hasNextPage": end < len(nodes)},
    }}}}


@operation("FetchArtifactManifest")
def fetch_artifact_manifest(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """Where to download the manifest from; the files it lists are served by their md5 (see server)."""
    artifact = _artifact(ctx, v["id"])
    url = f"{ctx.base_url}/_manifests/{quote(artifact.id, safe='')}"
    return {"artifact": {"currentManifest": {"file": {"directUrl": url}}}}


@operation("GetArtifactMembershipFileUrls")
def artifact_file_urls(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    """Download URLs of an artifact's uploaded files (`artifact.download()`)."""
    artifact = ctx.state.resolve(v["entity"], v["project"], f"{v['collection']}:{v['alias']}")
    if artifact is None:
        return {"project": None}
    names = sorted(artifact.files)
    start = int(v.get("cursor") or 0)
    page = names[start:start + int(v.get("perPage") or 50)]
    end = start + len(page)
    edges = [{"node": {"__typename": "File", "name": name,
                       "directUrl": f"{ctx.base_url}/_files/{quote(artifact.id, safe='')}/{quote(name)}"}}
             for name in page]
    files = {"edges": edges, "pageInfo": {"__typename": "PageInfo", "endCursor": str(end), "hasNextPage": end < len(names)}}
    return {"project": {"artifactCollection": {"__typename": "ArtifactSequence", "artifactMembership": {"files": files}}}}


@operation("FetchArtifactDigestAlgorithm")
def fetch_digest_algorithm(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    coll = ctx.state.collection(v["entityName"], v["projectName"], v["artifactCollectionName"])
    node = {"__typename": "ArtifactSequence", "digestAlgorithm": "MANIFEST_MD5"} if coll else None
    return {"project": {"artifactType": {"artifactCollection": node}}}


@operation("ClientIDMapping")
def client_id_mapping(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    for artifact in ctx.state.artifacts.values():
        if artifact.client_id and artifact.client_id == v["clientID"]:
            return {"clientIDMapping": {"serverID": artifact.id}}
    return {"clientIDMapping": None}
