"""Fault injection, seen through the real SDK's retry and error handling."""

from __future__ import annotations

import base64
import time

import openai
import pytest

from ftsync.emulator import Emulator, FaultInjector, FaultSpecError

from .helpers import openai_client


def test_429_with_retry_after_is_retried_by_the_sdk_and_succeeds():
    with Emulator("demo", faults="jobs.list:429:retry_after=1:times=1") as emu:
        started = time.monotonic()
        page = openai_client(emu).fine_tuning.jobs.list()
        waited = time.monotonic() - started
        assert page.data and emu.faults.rules[0].fired == 1
        assert waited >= 0.9  # the SDK honoured retry-after: 1 rather than its 0.5 s backoff


def test_429_body_headers_and_x_should_retry_false():
    with Emulator("demo", faults="jobs.retrieve:429:retry_after_ms=20:should_retry=false") as emu:
        with pytest.raises(openai.RateLimitError) as err:
            openai_client(emu).fine_tuning.jobs.retrieve(emu.workspace.job_ids()[0])
        assert emu.faults.rules[0].fired == 1  # not retried
        assert err.value.code == "rate_limit_exceeded"
        headers = err.value.response.headers
        assert headers["retry-after"] == "1" and headers["retry-after-ms"] == "20"
        assert headers["x-ratelimit-remaining-requests"] == "0"


@pytest.mark.parametrize("kind,error", [("500", openai.InternalServerError), ("503", openai.InternalServerError)])
def test_server_errors_are_retried_then_surface(kind, error):
    with Emulator("demo", faults=f"models.list:{kind}:times=1;files.list:{kind}") as emu:
        client = openai_client(emu, max_retries=2)
        assert client.models.list().data  # one failure, then the retry succeeds
        with pytest.raises(error) as err:
            client.with_options(max_retries=1).files.list()
        assert err.value.status_code == int(kind)
        assert emu.faults.rules[1].fired == 2  # the first try and one retry


def test_a_dropped_body_is_the_sdks_connection_error():
    with Emulator("demo", faults="jobs.list:drop") as emu:
        with pytest.raises(openai.APIConnectionError):
            openai_client(emu, max_retries=0).fine_tuning.jobs.list()
        assert emu.faults.rules[0].fired == 1
        # the server is still healthy afterwards
        assert openai_client(emu).models.list().data


def test_a_single_drop_is_recovered_by_the_sdk_retry():
    with Emulator("demo", faults="files.content:drop:times=1") as emu:
        client = openai_client(emu)
        file_id = next(iter(emu.workspace.files))
        assert client.files.content(file_id).read() == b"".join(emu.workspace.files[file_id].chunks())


def test_delay_beyond_the_client_timeout_is_a_timeout():
    with Emulator("demo", faults="jobs.events:delay:delay=2") as emu:
        client = openai_client(emu, max_retries=0, timeout=0.3)
        with pytest.raises(openai.APITimeoutError):
            client.fine_tuning.jobs.list_events(emu.workspace.job_ids()[0])


def test_truncated_and_corrupt_file_content():
    with Emulator("demo") as emu:
        client = openai_client(emu)
        job = next(j for j in client.fine_tuning.jobs.list() if j.status == "succeeded")
        result_id = job.result_files[0]
        whole = client.files.content(result_id).read()
        emu.faults.add(f"files.content:truncate:id={result_id}:times=1")
        assert client.files.content(result_id).read() == whole[: len(whole) // 2]
        emu.faults.add(f"files.content:corrupt:id={result_id}")
        corrupt = client.files.content(result_id).read()
        assert len(corrupt) == len(whole) and corrupt != whole
        with pytest.raises(ValueError):
            base64.b64decode(corrupt, validate=True)
        with pytest.raises(UnicodeDecodeError):
            corrupt.decode("utf-8")
        # other files are untouched by an id-scoped rule
        other = job.training_file
        assert client.files.content(other).read() == b"".join(emu.workspace.files[other].chunks())


def test_fault_decisions_are_deterministic_by_seed():
    def fires(seed: int) -> list[bool]:
        injector = FaultInjector.parse("jobs.list:500:p=0.5", seed=seed)
        return [injector.decide("jobs.list", None) is not None for _ in range(64)]

    assert fires(7) == fires(7)
    assert fires(7) != fires(8)
    assert 10 < sum(fires(7)) < 54


def test_after_and_times_bound_a_rule():
    injector = FaultInjector.parse("*:503:after=2:times=1")
    assert [injector.decide("models.list", None) is not None for _ in range(5)] == [False, False, True, False, False]


@pytest.mark.parametrize("spec,words", [
    ("jobs.lst:429", "unknown route 'jobs.lst'"),
    ("jobs.list:418", "unknown kind '418'"),
    ("jobs.list:429:p", "is not key=value"),
    ("jobs.list:429:p=lots", "bad value for 'p'"),
    ("jobs.list", "expected ROUTE:KIND"),
])
def test_bad_fault_rules_say_what_is_wrong(spec, words):
    with pytest.raises(FaultSpecError, match=words):
        FaultInjector.parse(spec)


def test_latency_is_added_to_every_request():
    """`--latency` models a real API's round trip for benchmarks: each request takes at least that."""
    import time

    from ftsync.emulator import Emulator

    from .helpers import openai_client

    with Emulator("demo", latency=0.2) as emu:
        client = openai_client(emu, max_retries=0)
        started = time.monotonic()
        client.fine_tuning.jobs.list(limit=1)
        client.files.list()
        assert time.monotonic() - started >= 0.4
    with pytest.raises(ValueError, match="latency"):
        Emulator("demo", latency=float("nan"))
