"""Spec mode: every route's responses validate against OpenAI's OpenAPI schemas."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from ftsync.emulator import Emulator
from ftsync.emulator.api import ROUTE_TABLE

from .helpers import openai_client
from .openapi import SPEC, errors, response_schema

# route name -> (spec path, method)
SPEC_ROUTES = {
    "jobs.list": ("/fine_tuning/jobs", "get"),
    "jobs.create": ("/fine_tuning/jobs", "post"),
    "jobs.retrieve": ("/fine_tuning/jobs/{fine_tuning_job_id}", "get"),
    "jobs.cancel": ("/fine_tuning/jobs/{fine_tuning_job_id}/cancel", "post"),
    "jobs.pause": ("/fine_tuning/jobs/{fine_tuning_job_id}/pause", "post"),
    "jobs.resume": ("/fine_tuning/jobs/{fine_tuning_job_id}/resume", "post"),
    "jobs.events": ("/fine_tuning/jobs/{fine_tuning_job_id}/events", "get"),
    "jobs.checkpoints": ("/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints", "get"),
    "files.list": ("/files", "get"),
    "files.create": ("/files", "post"),
    "files.retrieve": ("/files/{file_id}", "get"),
    "files.delete": ("/files/{file_id}", "delete"),
    "files.content": ("/files/{file_id}/content", "get"),
    "models.list": ("/models", "get"),
    "models.retrieve": ("/models/{model}", "get"),
    "models.delete": ("/models/{model}", "delete"),
}


def test_the_route_table_covers_every_spec_operation():
    served = {name for _, _, name in ROUTE_TABLE}
    # beyond the spec's fine-tuning, files and models: chat completions (and Azure's, per deployment),
    # for `ftsync record`
    assert served == set(SPEC_ROUTES) | {"chat.completions", "chat.deployment"}
    spec_ops = {(p, m) for p, ops in SPEC["paths"].items() for m in ops}
    assert spec_ops == set(SPEC_ROUTES.values())


class Recorder:
    """Calls the emulator over HTTP and keeps (route, status, payload) of every answer."""

    def __init__(self, emu: Emulator):
        self.http = httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"})
        self.seen: list[tuple[str, int, object]] = []

    def call(self, route: str, method: str, url: str, **kw) -> httpx.Response:
        response = self.http.request(method, url, **kw)
        payload = response.content if route == "files.content" and response.status_code == 200 else response.json()
        self.seen.append((route, response.status_code, payload))
        return response


def exercise_every_route(emu: Emulator) -> Recorder:
    rec = Recorder(emu)
    jobs, after = [], None
    while True:
        page = rec.call("jobs.list", "GET", "/fine_tuning/jobs", params={"limit": 9, **({"after": after} if after else {})}).json()
        jobs += page["data"]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    rec.call("jobs.list", "GET", "/fine_tuning/jobs", params={"metadata[team]": "support"})
    for job in jobs:
        rec.call("jobs.retrieve", "GET", f"/fine_tuning/jobs/{job['id']}")
        rec.call("jobs.events", "GET", f"/fine_tuning/jobs/{job['id']}/events", params={"limit": 10_000})
        rec.call("jobs.checkpoints", "GET", f"/fine_tuning/jobs/{job['id']}/checkpoints")
    files = rec.call("files.list", "GET", "/files").json()["data"]
    rec.call("files.list", "GET", "/files", params={"purpose": "nothing-has-this"})
    for f in files[:5]:
        rec.call("files.retrieve", "GET", f"/files/{f['id']}")
        rec.call("files.content", "GET", f"/files/{f['id']}/content")
    models = rec.call("models.list", "GET", "/models").json()["data"]
    rec.call("models.retrieve", "GET", f"/models/{models[-1]['id']}")
    tuned = next(m for m in models if m["owned_by"] != "system")
    rec.call("models.delete", "DELETE", f"/models/{tuned['id']}")
    lines = b"".join(b'{"messages":[{"role":"user","content":"hi %d"},{"role":"assistant","content":"yo"}]}\n' % i
                     for i in range(12))
    upload = rec.call("files.create", "POST", "/files", files={"file": ("t.jsonl", lines)}, data={"purpose": "fine-tune"}).json()
    created = rec.call("jobs.create", "POST", "/fine_tuning/jobs", json={
        "model": "gpt-4o-mini-2024-07-18", "training_file": upload["id"], "suffix": "spec",
        "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.5}}}}).json()
    deadline = time.time() + 10
    while rec.call("jobs.retrieve", "GET", f"/fine_tuning/jobs/{created['id']}").json()["status"] != "running":
        assert time.time() < deadline
        time.sleep(0.01)
    rec.call("jobs.pause", "POST", f"/fine_tuning/jobs/{created['id']}/pause")
    rec.call("jobs.events", "GET", f"/fine_tuning/jobs/{created['id']}/events")
    rec.call("jobs.resume", "POST", f"/fine_tuning/jobs/{created['id']}/resume")
    rec.call("jobs.cancel", "POST", f"/fine_tuning/jobs/{created['id']}/cancel")
    rec.call("files.delete", "DELETE", f"/files/{upload['id']}")
    # errors
    rec.call("jobs.retrieve", "GET", "/fine_tuning/jobs/ftjob-missing")
    rec.call("jobs.cancel", "POST", f"/fine_tuning/jobs/{created['id']}/cancel")
    rec.call("files.retrieve", "GET", "/files/file-missing")
    rec.call("jobs.create", "POST", "/fine_tuning/jobs", json={"model": "gpt-4o-mini-2024-07-18", "training_file": upload["id"]})
    return rec


def test_spec_mode_every_response_validates():
    with Emulator("demo", mode="spec", speed=500) as emu:
        rec = exercise_every_route(emu)
    routes_seen = {route for route, status, _ in rec.seen if status == 200}
    assert routes_seen == set(SPEC_ROUTES)
    problems = []
    for route, status, payload in rec.seen:
        if status != 200:
            schema = "ErrorResponse"
        elif route == "files.content":
            assert isinstance(payload, bytes)  # the spec types it as a string: raw bytes
            continue
        else:
            schema = response_schema(*SPEC_ROUTES[route])
        problems += [f"{route} {status} [{schema}] {e}" for e in errors(payload, schema)]
    assert not problems, "\n".join(sorted({re.sub(r"/\d+/", "/N/", p) for p in problems}))
    assert sum(1 for _, status, _ in rec.seen if status != 200) == 4
    assert len(rec.seen) > 100


def test_realistic_mode_has_the_quirks_the_spec_rejects():
    """Proves the validator bites: the real API's quirks fail it."""
    with Emulator("demo", mode="realistic") as emu:
        client = openai_client(emu)
        jobs = client.fine_tuning.jobs.list(limit=100).to_dict()["data"]
        healthy = next(j for j in jobs if j["status"] == "succeeded")
        assert healthy["error"] == {} and healthy["user_provided_suffix"] is not None
        assert any("error" in e for e in errors(healthy, "FineTuningJob"))
        paused = next(j for j in jobs if j["status"] == "paused")
        assert any("status" in e for e in errors(paused, "FineTuningJob"))
        events = client.fine_tuning.jobs.list_events(healthy["id"], limit=10_000).to_dict()
        started = next(e for e in events["data"] if e["message"] == "Fine-tuning job started")
        assert started["data"] is None
        assert errors(events, "ListFineTuningJobEventsResponse")


@pytest.mark.parametrize("mode", ["spec", "realistic"])
def test_dpo_and_rft_hyperparameters_live_in_method(mode):
    with Emulator("demo", mode=mode) as emu:
        jobs = openai_client(emu).fine_tuning.jobs.list(limit=100).data
    dpo = next(j for j in jobs if j.method.type == "dpo" and j.status == "succeeded")
    assert dpo.method.dpo.hyperparameters.beta == 0.1
    rft = next(j for j in jobs if j.method.type == "reinforcement")
    assert rft.method.reinforcement.grader.type == "string_check"
    if mode == "realistic":
        assert dpo.hyperparameters is None
    else:
        assert dpo.hyperparameters.n_epochs == dpo.method.dpo.hyperparameters.n_epochs
