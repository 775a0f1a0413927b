"""The W&B test backend, driven by the real wandb 0.31 (Python SDK + wandb-core) in online mode."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import wandb

from .wandb_backend import WandbBackend

KEY = "a1" * 20  # W&B keys are 40 characters
OTHER_KEY = "b2" * 20
UNKNOWN_KEY = "c3" * 20
ENTITY = "ft-team"
PROJECT = "OpenAI-Fine-Tune"

# wandb-core retries failed calls 20 times with up to 60 s between tries; a test must fail fast.
# Retry waits are whole seconds (fractions are truncated to 0, which means "default"), and a
# retry count of 0 also means "default", so 1 is the floor. finish_timeout bounds run.finish()
# and the atexit teardown of a run a failed test left open.
FAST = {
    "init_timeout": 15,
    "finish_timeout": 15,
    "x_graphql_retry_max": 1,
    "x_graphql_retry_wait_min_seconds": 1,
    "x_graphql_retry_wait_max_seconds": 1,
    "x_graphql_timeout_seconds": 10,
    "x_file_stream_retry_max": 1,
    "x_file_stream_retry_wait_min_seconds": 1,
    "x_file_stream_retry_wait_max_seconds": 1,
    "x_file_stream_timeout_seconds": 10,
    "x_file_transfer_retry_max": 1,
    "x_file_transfer_retry_wait_min_seconds": 1,
    "x_file_transfer_retry_wait_max_seconds": 1,
    "x_file_transfer_timeout_seconds": 10,
}


@pytest.fixture
def wandb_env(monkeypatch, tmp_path: Path) -> Path:
    """No ambient W&B configuration; wandb's folders in tmp_path."""
    for var in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_MODE", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_RUN_ID",
                "WANDB_RESUME"):
        monkeypatch.delenv(var, raising=False)
    for var, name in (("WANDB_DIR", "wandb"), ("WANDB_CONFIG_DIR", "wandb-config"), ("WANDB_CACHE_DIR", "wandb-cache"),
                      ("WANDB_DATA_DIR", "wandb-data")):
        (tmp_path / name).mkdir()
        monkeypatch.setenv(var, str(tmp_path / name))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return tmp_path


@pytest.fixture
def backend(wandb_env: Path) -> WandbBackend:
    with WandbBackend(api_keys={KEY: ENTITY}) as b:
        yield b


def settings(backend: WandbBackend, key: str = KEY, **overrides: Any) -> wandb.Settings:
    return wandb.Settings(api_key=key, base_url=backend.base_url, mode="online", **{**FAST, **overrides})


def init(backend: WandbBackend, run_id: str, key: str = KEY, settings_overrides: dict | None = None,
         **kwargs: Any) -> wandb.Run:
    kwargs.setdefault("entity", ENTITY)
    return wandb.init(project=PROJECT, id=run_id, reinit="create_new",
                      settings=settings(backend, key, **(settings_overrides or {})), **kwargs)


def api(backend: WandbBackend, key: str = KEY) -> wandb.Api:
    return wandb.Api(api_key=key, overrides={"base_url": backend.base_url})


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def dataset_artifact(file: Path, rows: list[list[Any]]) -> wandb.Artifact:
    artifact = wandb.Artifact("train-file-abc", type="dataset", metadata={"rows": len(rows)})
    artifact.add_file(str(file))
    artifact.add(wandb.Table(columns=["prompt", "completion"], data=rows), "examples")
    return artifact


# ---- runs ----------------------------------------------------------------------------------------
def test_a_run_holds_exactly_what_was_logged(backend: WandbBackend):
    with init(backend, "ftjob-one", config={"lr": 0.1, "epochs": 3}, job_type="fine-tune",
              tags=["model:gpt-4o-mini"], name="first") as run:
        for step in range(100):
            run.log({"train_loss": 1 / (step + 1)}, step=step)
        run.config.update({"n_train": 10})
        run.summary["status"] = "succeeded"
        run.summary["trained_tokens"] = 1234

    stored = backend.run(ENTITY, PROJECT, "ftjob-one")
    rows = stored.history_rows()
    assert [r["_step"] for r in rows] == list(range(100))
    assert [r["train_loss"] for r in rows] == [1 / (s + 1) for s in range(100)]
    assert stored.config_values() == {"lr": 0.1, "epochs": 3, "n_train": 10}
    assert stored.summary["status"] == "succeeded" and stored.summary["trained_tokens"] == 1234
    assert stored.summary["train_loss"] == 1 / 100
    assert (stored.state, stored.exit_code) == ("finished", 0)
    assert (stored.job_type, stored.tags, stored.display_name) == ("fine-tune", ["model:gpt-4o-mini"], "first")
    assert {"wandb-summary.json", "config.yaml", "wandb-metadata.json"} <= set(stored.files)
    assert json.loads(stored.files["wandb-summary.json"])["status"] == "succeeded"
    assert backend.keys_used() == {KEY}
    assert backend.errors == []


def test_a_resumed_run_continues_its_history(backend: WandbBackend):
    with init(backend, "ftjob-resume", config={"lr": 0.1}) as run:
        for step in range(100):
            run.log({"loss": step})
    with init(backend, "ftjob-resume", resume="allow") as run:
        assert run.starting_step == 100
        for step in range(100, 150):
            run.log({"loss": step}, step=step)
        run.summary["status"] = "succeeded"

    stored = backend.run(ENTITY, PROJECT, "ftjob-resume")
    steps = [r["_step"] for r in stored.history_rows()]
    assert steps == list(range(150))  # 150 rows, none twice
    assert stored.config_values() == {"lr": 0.1}  # kept from the first run
    assert stored.summary["status"] == "succeeded" and stored.summary["loss"] == 149
    assert stored.state == "finished"
    assert "RunResumeStatus" in backend.operations()
    assert backend.errors == []


def test_a_resumed_run_without_explicit_steps_picks_up_after_the_last(backend: WandbBackend):
    with init(backend, "ftjob-implicit") as run:
        for value in range(10):
            run.log({"x": value})
    with init(backend, "ftjob-implicit", resume="allow") as run:
        for value in range(10, 15):
            run.log({"x": value})

    rows = backend.run(ENTITY, PROJECT, "ftjob-implicit").history_rows()
    assert [(r["_step"], r["x"]) for r in rows] == [(s, s) for s in range(15)]
    assert backend.errors == []


def test_a_resumed_run_drops_a_lower_step_and_keeps_tags_summary_and_config(backend: WandbBackend):
    """W&B's rules on a resumed run, as wandb-core reads them from RunResumeStatus (its runbranch/
    resume.go): it continues after its last step, a lower step is dropped, the tags, summary and
    config come back (tags given on resume would replace them)."""
    with init(backend, "ftjob-five", config={"model": "gpt-4o-mini"}, tags=["openai/finetune"]) as run:
        for step in range(1, 6):
            run.log({"train_loss": 1 / step}, step=step)
    with init(backend, "ftjob-five", resume="allow") as run:
        assert run.starting_step == 6
        assert run.tags == ("openai/finetune",) and dict(run.config) == {"model": "gpt-4o-mini"}
        assert run.summary["train_loss"] == 1 / 5 and run.summary["_step"] == 5
        run.log({"train_loss": 9.0}, step=3)  # lower: W&B drops it
        run.log({"train_loss": 0.1}, step=6)
    rows = backend.run(ENTITY, PROJECT, "ftjob-five").history_rows()
    assert [(r["_step"], r["train_loss"]) for r in rows] == [(s, 1 / s) for s in range(1, 6)] + [(6, 0.1)]
    assert backend.errors == []


def test_a_second_run_with_the_same_id_appends_after_the_first(backend: WandbBackend):
    """Without resume, UpsertBucket on an existing run reports its history line count and wandb-core
    writes after it: the second copy of the steps is appended (what a sync must never do)."""
    for _ in range(2):
        with init(backend, "ftjob-twice") as run:
            for step in range(1, 4):
                run.log({"loss": step}, step=step)
    assert [r["_step"] for r in backend.run(ENTITY, PROJECT, "ftjob-twice").history_rows()] == [1, 2, 3, 1, 2, 3]


def test_rewind_cuts_the_history_back_and_a_server_without_it_refuses(wandb_env: Path):
    for supported in (True, False):
        with WandbBackend(api_keys={KEY: ENTITY}, rewind=supported) as b:
            with init(b, "ftjob-rw", tags=["kept"]) as run:
                for step in range(1, 31):
                    run.log({"loss": step}, step=step)
            if supported:
                with init(b, "ftjob-rw", resume_from="ftjob-rw?_step=0") as run:
                    assert run.starting_step == 1
                    for step in range(1, 31):
                        run.log({"loss": -step}, step=step)
                rows = b.run(ENTITY, PROJECT, "ftjob-rw").history_rows()
                assert [(r["_step"], r["loss"]) for r in rows] == [(s, -s) for s in range(1, 31)]
                assert b.run(ENTITY, PROJECT, "ftjob-rw").summary["loss"] == -30
                assert "RewindRun" in b.operations()
            else:
                with pytest.raises(wandb.errors.CommError, match="failed to rewind run.*rewindRun"):
                    init(b, "ftjob-rw", resume_from="ftjob-rw?_step=0")
                assert len(b.run(ENTITY, PROJECT, "ftjob-rw").history) == 30  # untouched
            assert b.errors == []


def test_a_logged_table_is_a_history_value_and_a_run_table_artifact(backend: WandbBackend):
    with init(backend, "ftjob-table") as run:
        run.log({"events": wandb.Table(columns=["level", "message"], data=[["info", "started"]])})

    row = backend.run(ENTITY, PROJECT, "ftjob-table").history_rows()[0]
    assert row["events"]["_type"] == "table-file"
    [version] = backend.versions(ENTITY, PROJECT, "run-ftjob-table-events")
    assert version.state == "COMMITTED" and version.type == "run_table"
    table = json.loads(version.files["events.table.json"])
    assert table["columns"] == ["level", "message"] and table["data"] == [["info", "started"]]
    assert backend.errors == []


def test_runs_in_parallel_threads_stay_apart(backend: WandbBackend):
    def sync(n: int) -> None:
        with init(backend, f"ftjob-par-{n}", config={"n": n}) as run:
            for step in range(20):
                run.log({"loss": n * 100 + step})

    threads = [threading.Thread(target=sync, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for n in range(4):
        stored = backend.run(ENTITY, PROJECT, f"ftjob-par-{n}")
        assert [r["loss"] for r in stored.history_rows()] == [n * 100 + s for s in range(20)]
        assert (stored.config_values(), stored.state) == ({"n": n}, "finished")
    assert backend.errors == []


def test_without_an_entity_a_run_lands_in_the_keys_entity(backend: WandbBackend):
    with init(backend, "ftjob-default-entity", entity=None) as run:
        run.log({"a": 1})
        assert run.entity == ENTITY
    assert backend.run(ENTITY, PROJECT, "ftjob-default-entity").state == "finished"
    assert backend.errors == []


# ---- artifacts -----------------------------------------------------------------------------------
def test_log_artifact_versions_aliases_and_content(backend: WandbBackend, tmp_path: Path):
    data = write(tmp_path / "train.jsonl", '{"prompt": "a"}\n')
    with init(backend, "ftjob-art") as run:
        first = dataset_artifact(data, [["a", "b"]])
        run.log_artifact(first, aliases=["latest", "ftjob-x"])
        first.wait()
        again = dataset_artifact(data, [["a", "b"]])  # identical content: W&B returns the same version
        run.log_artifact(again, aliases=["latest", "ftjob-x"])
        again.wait()
        changed = dataset_artifact(write(tmp_path / "train.jsonl", '{"prompt": "changed"}\n'), [["c", "d"]])
        run.log_artifact(changed, aliases=["latest", "ftjob-y"])
        changed.wait()

    assert (first.version, again.version, changed.version) == ("v0", "v0", "v1")
    v0, v1 = backend.versions(ENTITY, PROJECT, "train-file-abc")
    assert (v0.state, v1.state) == ("COMMITTED", "COMMITTED")
    assert backend.aliases(v0) == ["ftjob-x"]
    assert backend.aliases(v1) == ["ftjob-y", "latest"]  # `latest` moved to the newest version
    assert v0.files["train.jsonl"] == b'{"prompt": "a"}\n'
    assert v1.files["train.jsonl"] == b'{"prompt": "changed"}\n'
    assert json.loads(v0.files["examples.table.json"])["data"] == [["a", "b"]]
    assert (v0.type, v0.metadata, v0.file_count) == ("dataset", {"rows": 1}, 2)
    assert v0.created_by == v1.created_by == (ENTITY, PROJECT, "ftjob-art")
    assert backend.errors == []


def test_use_artifact_records_use_edges(backend: WandbBackend, tmp_path: Path):
    data = write(tmp_path / "valid.jsonl", '{"prompt": "v"}\n')
    with init(backend, "ftjob-use") as run:
        model = wandb.Artifact("model-metadata", type="model")
        model.add_file(str(data))
        run.log_artifact(model)
        model.wait()
        run.use_artifact(model)  # logged in this same run
        dataset = wandb.Artifact("valid-file-abc", type="dataset")
        dataset.add_file(str(data))
        run.use_artifact(dataset)  # a new artifact: created, then used

    run_key = (ENTITY, PROJECT, "ftjob-use")
    [model_v0] = backend.versions(ENTITY, PROJECT, "model-metadata")
    [dataset_v0] = backend.versions(ENTITY, PROJECT, "valid-file-abc")
    assert model_v0.created_by == run_key and model_v0.used_by == [run_key]
    assert dataset_v0.state == "COMMITTED" and dataset_v0.used_by == [run_key]
    assert set(backend.run(*run_key).inputs) == {model_v0.id, dataset_v0.id}
    stored = api(backend).run("/".join(run_key))
    assert [a.name for a in stored.logged_artifacts()] == ["model-metadata:v0"]
    assert sorted(a.name for a in stored.used_artifacts()) == ["model-metadata:v0", "valid-file-abc:v0"]
    assert backend.errors == []


# ---- reading back with wandb.Api -----------------------------------------------------------------
@pytest.fixture
def two_finished_runs(backend: WandbBackend, tmp_path: Path) -> WandbBackend:
    for n, run_id in enumerate(("ftjob-r1", "ftjob-r2")):
        with init(backend, run_id, config={"n_train": 10 + n}, job_type="fine-tune") as run:
            for step in range(5):
                run.log({"loss": step * 10 + n})
            run.summary["status"] = f"done-{n}"
            if n == 0:
                artifact = wandb.Artifact("job_details", type="details")
                artifact.add_file(str(write(tmp_path / "job.json", "{}")))
                run.log_artifact(artifact, aliases=["latest", "ftjob-r1"])
    return backend


@pytest.mark.parametrize("lazy", [False, True])
def test_api_lists_runs_with_their_summary(two_finished_runs: WandbBackend, lazy: bool):
    runs = list(api(two_finished_runs).runs(f"{ENTITY}/{PROJECT}", lazy=lazy))
    assert [r.id for r in runs] == ["ftjob-r1", "ftjob-r2"]
    assert [r.summary_metrics["status"] for r in runs] == ["done-0", "done-1"]
    assert [r.config["n_train"] for r in runs] == [10, 11]
    assert [(r.state, r.job_type, r.entity, r.project) for r in runs] == [("finished", "fine-tune", ENTITY, PROJECT)] * 2
    assert two_finished_runs.errors == []


def test_api_reads_viewer_history_and_artifacts(two_finished_runs: WandbBackend, tmp_path: Path, monkeypatch):
    client = api(two_finished_runs)
    assert client.viewer.username == ENTITY and client.default_entity == ENTITY
    run = client.run(f"{ENTITY}/{PROJECT}/ftjob-r1")
    assert [row["loss"] for row in run.history(pandas=False)] == [0, 10, 20, 30, 40]
    assert [row["loss"] for row in run.scan_history(keys=["loss"])] == [0, 10, 20, 30, 40]
    artifact = client.artifact(f"{ENTITY}/{PROJECT}/job_details:ftjob-r1")
    assert (artifact.version, artifact.type, sorted(artifact.aliases)) == ("v0", "details", ["ftjob-r1", "latest"])
    # an empty cache for each download, or wandb reads the files it cached when it uploaded them
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache-one"))
    assert Path(artifact.get_entry("job.json").download(root=str(tmp_path / "one"))).read_text() == "{}"
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache-all"))
    fresh = client.artifact(f"{ENTITY}/{PROJECT}/job_details:latest")
    assert Path(fresh.download(root=str(tmp_path / "all")), "job.json").read_text() == "{}"
    downloads = {r.path.split("/")[1] for r in two_finished_runs.requests if r.method == "GET"}
    assert {"_files", "artifactsV2"} <= downloads
    with pytest.raises(ValueError, match="Could not find project"):
        list(client.runs(f"{ENTITY}/no-such-project"))
    assert two_finished_runs.errors == []


# ---- keys, faults and the wire -------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_an_unknown_key_makes_init_raise_quickly(backend: WandbBackend):
    started = time.monotonic()
    with pytest.raises(wandb.errors.CommError, match="not logged in"):
        init(backend, "ftjob-denied", key=UNKNOWN_KEY)
    assert time.monotonic() - started < 10
    assert any(r.status == 401 and r.key == UNKNOWN_KEY for r in backend.requests)
    assert backend.state.runs == {}
    assert backend.errors == []


@pytest.mark.timeout(60)
def test_a_500_storm_at_init_fails_in_bounded_time(backend: WandbBackend):
    backend.fail_all(500, kind="graphql")
    started = time.monotonic()
    with pytest.raises(wandb.errors.Error):
        init(backend, "ftjob-storm")
    assert time.monotonic() - started < 10  # x_graphql_retry_max=1: two tries, one second apart
    assert [r.status for r in backend.requests] == [500, 500]
    assert backend.errors == []


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_500_storm_mid_run_leaves_the_run_unfinished_in_bounded_time(backend: WandbBackend):
    """wandb gives up after its retries and finish() returns without raising: the run stays running."""
    run = init(backend, "ftjob-storm-mid")
    backend.fail_all(500, kind="any")
    started = time.monotonic()
    run.log({"a": 1})
    run.finish()
    assert time.monotonic() - started < 30
    assert backend.run(ENTITY, PROJECT, "ftjob-storm-mid").state == "running"
    assert any(r.status == 500 and r.path.endswith("/file_stream") for r in backend.requests)
    assert backend.errors == []


def test_failed_file_stream_posts_are_retried_without_duplicates(backend: WandbBackend):
    with init(backend, "ftjob-flaky", settings_overrides={"x_file_stream_retry_max": 3}) as run:
        backend.fail_next(2, status=500, kind="file_stream")
        for step in range(20):
            run.log({"loss": step})
    rows = backend.run(ENTITY, PROJECT, "ftjob-flaky").history_rows()
    assert [r["_step"] for r in rows] == list(range(20))
    assert sum(r.status == 500 for r in backend.requests) == 2
    assert backend.errors == []


def test_gzipped_file_stream(backend: WandbBackend):
    with init(backend, "ftjob-gzip", settings_overrides={"x_file_stream_no_gzip": False}) as run:
        run.log({"a": 1})
    assert backend.run(ENTITY, PROJECT, "ftjob-gzip").history_rows()[0]["a"] == 1
    assert any(r.gzipped and r.path.endswith("/file_stream") for r in backend.requests)
    assert backend.errors == []


def test_two_backends_each_see_only_their_own_key(wandb_env: Path, tmp_path: Path):
    with WandbBackend({KEY: "team-one"}) as one, WandbBackend({OTHER_KEY: "team-two"}) as two:
        run_one = init(one, "ftjob-one-side", key=KEY, entity="team-one")
        run_two = init(two, "ftjob-two-side", key=OTHER_KEY, entity="team-two")
        for run in (run_one, run_two):  # both open at once, in one process
            run.log({"a": 1})
            artifact = wandb.Artifact("data", type="dataset")
            artifact.add_file(str(write(tmp_path / "d.txt", run.id)))
            run.log_artifact(artifact)
            artifact.wait()
        run_one.finish()
        run_two.finish()
        assert [r.id for r in api(one, KEY).runs("team-one/" + PROJECT)] == ["ftjob-one-side"]

        assert one.keys_used() == {KEY} and two.keys_used() == {OTHER_KEY}
        assert list(one.state.runs) == [("team-one", PROJECT, "ftjob-one-side")]
        assert list(two.state.runs) == [("team-two", PROJECT, "ftjob-two-side")]
        assert one.errors == [] and two.errors == []


# ---- the backend itself, over plain HTTP -----------------------------------------------------------
def post(url: str, body: bytes, key: str | None = KEY, headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if key:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"api:{key}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    return status, json.loads(text) if text else None


def graphql(backend: WandbBackend, query: str, key: str | None = KEY, **extra: Any) -> tuple[int, Any]:
    return post(backend.base_url + "/graphql", json.dumps({"query": query, "variables": {}}).encode(), key, **extra)


def test_a_deleted_run_is_gone_from_listings(two_finished_runs: WandbBackend):
    two_finished_runs.delete_run(ENTITY, PROJECT, "ftjob-r1")
    assert [r.id for r in api(two_finished_runs).runs(f"{ENTITY}/{PROJECT}")] == ["ftjob-r2"]
    assert two_finished_runs.errors == []


def test_an_unknown_operation_fails_loudly(backend: WandbBackend):
    status, body = graphql(backend, "query NoSuchThing { viewer { id } }")
    assert status == 400 and "NoSuchThing" in body["errors"][0]["message"]
    assert len(backend.errors) == 1 and "NoSuchThing" in backend.errors[0]


def test_an_unknown_path_fails_loudly(backend: WandbBackend):
    status, _ = post(backend.base_url + "/api/v1/nothing", b"{}")
    assert status == 400 and "/api/v1/nothing" in backend.errors[0]


def test_auth_gzip_uploads_and_telemetry(backend: WandbBackend):
    assert graphql(backend, "query Viewer { viewer { id } }", key=None)[0] == 401
    assert graphql(backend, "query Viewer { viewer { id } }", key=UNKNOWN_KEY)[0] == 401
    body = gzip.compress(json.dumps({"query": "query Viewer { viewer { entity } }"}).encode())
    status, answer = post(backend.base_url + "/graphql", body, headers={"Content-Encoding": "gzip"})
    assert status == 200 and answer["data"]["viewer"]["entity"] == ENTITY
    assert post(backend.base_url + "/_upload/never-handed-out", b"x", key=None, method="PUT")[0] == 400
    assert post(backend.base_url + "/sdk/otel/v1/metrics", b"\x00", key=None)[0] == 200
    assert [(r.operation, r.key, r.status) for r in backend.requests[:3]] == [
        ("Viewer", None, 401), ("Viewer", UNKNOWN_KEY, 401), ("Viewer", KEY, 200)]
    assert len(backend.errors) == 1 and "never-handed-out" in backend.errors[0]
    backend.errors.clear()


def test_fail_next_counts_down(backend: WandbBackend):
    backend.fail_next(2, status=503, kind="graphql")
    statuses = [graphql(backend, "query Viewer { viewer { id } }")[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert backend.errors == []
