"""The real openai SDK (OpenAI and AzureOpenAI) against the emulator over HTTP."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx
import openai
import pytest

from ftsync.emulator import Emulator, datagen
from ftsync.emulator.rand import mix
from ftsync.emulator.workspaces import DEMO_FILES

from .helpers import azure_client, openai_client


@pytest.fixture(scope="module")
def bench45():
    with Emulator("bench", jobs=45, steps=30, examples=20) as emu:
        yield emu


def test_auto_pagination_returns_45_jobs_once_newest_first(bench45):
    client = openai_client(bench45)
    for limit in (None, 7, 45, 100):
        pager = client.fine_tuning.jobs.list(limit=limit) if limit else client.fine_tuning.jobs.list()
        jobs = list(pager)
        ids = [j.id for j in jobs]
        assert len(ids) == 45 and len(set(ids)) == 45
        created = [j.created_at for j in jobs]
        assert created == sorted(created, reverse=True)
        assert ids == bench45.workspace.job_ids()


def test_job_pages_follow_the_cursor(bench45):
    client = openai_client(bench45)
    first = client.fine_tuning.jobs.list()
    assert len(first.data) == 20 and first.has_more  # server default page size 20
    second = first.get_next_page()
    third = second.get_next_page()
    assert [len(p.data) for p in (second, third)] == [20, 5]
    assert third.has_more is False and not third.has_next_page()
    assert second.data[0].id == bench45.workspace.job_ids()[20]


def test_events_and_checkpoints_page_correctly(client):
    job = next(j for j in client.fine_tuning.jobs.list() if j.status == "succeeded" and j.validation_file)
    everything = client.fine_tuning.jobs.list_events(job.id, limit=10_000).data
    assert len(client.fine_tuning.jobs.list_events(job.id).data) == 20  # default page size
    paged = list(client.fine_tuning.jobs.list_events(job.id, limit=7))
    assert [e.id for e in paged] == [e.id for e in everything]
    assert len({e.id for e in paged}) == len(paged)
    times = [e.created_at for e in paged]
    assert times == sorted(times, reverse=True)
    assert paged[-1].message == f"Created fine-tuning job: {job.id}"
    assert paged[0].message == "The job has successfully completed"
    metrics = [e for e in paged if e.type == "metrics"]
    assert metrics and all(e.id.startswith("ftevent-") and len(e.id) == 32 for e in paged)
    assert {"step", "total_steps", "train_loss", "train_mean_token_accuracy"} <= set(metrics[0].data)

    ckpts = list(client.fine_tuning.jobs.checkpoints.list(job.id, limit=1))
    assert len(ckpts) == 3
    assert [c.step_number for c in ckpts] == sorted((c.step_number for c in ckpts), reverse=True)
    assert ckpts[0].fine_tuned_model_checkpoint == job.fine_tuned_model
    assert ckpts[1].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-{ckpts[1].step_number}"
    assert all(c.id.startswith("ftckpt_") and len(c.id) == 31 for c in ckpts)
    page = client.fine_tuning.jobs.checkpoints.list(job.id)
    assert page.first_id == ckpts[0].id and page.last_id == ckpts[-1].id


def test_metadata_filter(client):
    support = list(client.fine_tuning.jobs.list(metadata={"team": "support"}))
    assert support and all(j.metadata["team"] == "support" for j in support)
    both = list(client.fine_tuning.jobs.list(metadata={"team": "support", "env": "prod"}))
    assert both and set(j.id for j in both) < set(j.id for j in support)
    nulls = client.with_options().get("/fine_tuning/jobs?metadata=null", cast_to=object)
    assert nulls["data"] and all(j["metadata"] is None for j in nulls["data"])


def test_ids_and_model_names_have_the_real_formats(client):
    for job in client.fine_tuning.jobs.list():
        assert job.id.startswith("ftjob-") and len(job.id) == 30
        assert job.training_file.startswith("file-") and len(job.training_file) == 27
        if job.status == "succeeded":
            parts = job.fine_tuned_model.split(":")
            assert parts[0] == "ft" and parts[1] == job.model and len(parts[4]) == 8
            assert parts[3] == (job.user_provided_suffix or "")
            assert job.result_files and job.trained_tokens and job.finished_at >= job.created_at
        else:
            assert job.fine_tuned_model is None and job.result_files == []


def test_file_content_round_trips_byte_for_byte(fresh_demo):
    client = openai_client(fresh_demo)
    payload = os.urandom(300_000) + b"\x00\xff\r\n"
    uploaded = client.files.create(file=("blob.jsonl", payload), purpose="fine-tune")
    assert uploaded.bytes == len(payload) and uploaded.filename == "blob.jsonl"
    assert client.files.content(uploaded.id).read() == payload
    assert client.files.retrieve(uploaded.id).id == uploaded.id
    # a demo training file comes back exactly as generated
    fmt, n, filename = DEMO_FILES["tools"]
    entry = next(f for f in client.files.list() if f.filename == filename)
    assert client.files.content(entry.id).read() == datagen.render(fmt, mix("demo", "tools"), n)


def test_result_file_is_base64_csv_by_default_and_plain_on_request(client):
    job = next(j for j in client.fine_tuning.jobs.list() if j.status == "succeeded")
    raw = client.files.content(job.result_files[0]).read()
    assert raw.startswith(b"c3RlcC")  # base64 of "step,"
    csv = base64.b64decode(raw, validate=True).decode()
    assert csv.splitlines()[0].startswith("step,train_loss,")
    meta = client.files.retrieve(job.result_files[0])
    assert meta.purpose == "fine-tune-results" and meta.bytes == len(raw)
    with Emulator("demo", result_encoding="plain") as plain:
        assert openai_client(plain).files.content(job.result_files[0]).read() == csv.encode()


def test_files_list_orders_filters_and_deletes():
    with Emulator("demo") as emu:
        _check_files_list(openai_client(emu))


def _check_files_list(client):
    files = list(client.files.list())
    created = [f.created_at for f in files]
    assert created == sorted(created, reverse=True)
    assert {f.purpose for f in files} == {"fine-tune", "fine-tune-results"}
    tuned = list(client.files.list(purpose="fine-tune"))
    assert tuned and all(f.purpose == "fine-tune" for f in tuned)
    asc = list(client.files.list(order="asc", limit=3))
    assert [f.id for f in asc] == [f.id for f in files[::-1]]
    victim = tuned[0].id
    deleted = client.files.delete(victim)
    assert deleted.deleted and deleted.id == victim
    with pytest.raises(openai.NotFoundError) as err:
        client.files.content(victim)
    assert err.value.body["message"] == f"No such File object: {victim}"


def test_error_bodies_match_the_reference(client, demo):
    with pytest.raises(openai.NotFoundError) as err:
        client.fine_tuning.jobs.retrieve("ftjob-doesnotexist")
    assert err.value.status_code == 404
    assert err.value.body == {"message": "Could not find fine tune: ftjob-doesnotexist", "type": "invalid_request_error",
                              "param": "fine_tune_id", "code": "fine_tune_not_found"}
    for call in (lambda: client.fine_tuning.jobs.cancel("ftjob-nope"), lambda: client.fine_tuning.jobs.list_events("ftjob-nope")):
        with pytest.raises(openai.NotFoundError) as err:
            call()
        assert err.value.code == "fine_tune_not_found"
    with pytest.raises(openai.NotFoundError) as err:
        client.files.retrieve("file-missing")
    assert err.value.body == {"message": "No such File object: file-missing", "type": "invalid_request_error",
                              "param": "id", "code": None}
    bad = openai.OpenAI(base_url=demo.base_url, api_key="sk-wrong-key-123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        bad.fine_tuning.jobs.list()
    assert err.value.status_code == 401 and err.value.code == "invalid_api_key"
    assert "sk-wrong-key-123456789" not in str(err.value)
    assert err.value.body["message"].startswith("Incorrect API key provided: sk-***6789.")
    response = httpx.get(demo.base_url + "/fine_tuning/nowhere", headers={"Authorization": f"Bearer {demo.api_key}"})
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Invalid URL (GET /v1/fine_tuning/nowhere)",
                                         "type": "invalid_request_error", "param": None, "code": None}}
    anonymous = httpx.get(demo.base_url + "/fine_tuning/jobs")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["message"].startswith("You didn't provide an API key")


def test_models_list_retrieve_and_fine_tuned_names(client):
    models = {m.id: m for m in client.models.list()}
    assert "gpt-4o-mini-2024-07-18" in models
    tuned = next(j for j in client.fine_tuning.jobs.list() if j.status == "succeeded")
    assert models[tuned.fine_tuned_model].owned_by == "org-emulator"
    assert client.models.retrieve(tuned.fine_tuned_model).id == tuned.fine_tuned_model  # ':' unencoded in the path
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("ft:gpt-4o:nobody::XXXXXXXX")


def test_azure_client_works_against_the_same_server(demo):
    azure = azure_client(demo)
    jobs = list(azure.fine_tuning.jobs.list(limit=5))
    assert [j.id for j in jobs] == demo.workspace.job_ids()
    job = next(j for j in jobs if j.status in ("running", "succeeded"))
    assert azure.fine_tuning.jobs.retrieve(job.id).id == job.id
    assert list(azure.fine_tuning.jobs.list_events(job.id, limit=50))
    assert azure.files.retrieve(job.training_file).id == job.training_file
    with pytest.raises(openai.AuthenticationError):
        openai.AzureOpenAI(azure_endpoint=demo.azure_endpoint, api_key="wrong", api_version="2024-10-21",
                           max_retries=0).fine_tuning.jobs.list()
    # Azure's REST shape: api-key header, /openai prefix, api-version required
    ok = httpx.get(demo.azure_endpoint + "/openai/fine_tuning/jobs", params={"api-version": "2024-10-21"},
                   headers={"api-key": demo.api_key})
    assert ok.status_code == 200 and ok.json()["object"] == "list"
    missing = httpx.get(demo.azure_endpoint + "/openai/fine_tuning/jobs", headers={"api-key": demo.api_key})
    assert missing.status_code == 404


def test_demo_file_digests_are_stable_across_runs(demo):
    """The demo is deterministic: the same bytes on every machine."""
    with Emulator("demo") as other:
        for file_id, entry in demo.workspace.files.items():
            assert hashlib.sha256(b"".join(entry.chunks())).digest() == \
                hashlib.sha256(b"".join(other.workspace.files[file_id].chunks())).digest()
        hist = [j for j in demo.workspace.job_ids() if demo.workspace.jobs[j].created_at < 1.77e9]
        assert hist == [j for j in other.workspace.job_ids() if other.workspace.jobs[j].created_at < 1.77e9]
