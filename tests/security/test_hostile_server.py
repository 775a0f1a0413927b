"""A hostile or broken OpenAI-compatible server costs a sync little: every body, listing, request
and job is bounded (ftsync.limits), the job it targets fails with one line naming the limit, and
the other jobs of the same sync still sync.

Each test syncs through `sync_jobs` (the real openai SDK over real HTTP to tests/security/
hostile_server.py, W&B offline) with small limits, and measures what the sync cost: Python's
peak traced memory, wall time and requests. Before these bounds, the same servers cost GBs of
memory, GBs of disk and endless requests (each test's first comment says what it cost before).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai import OpenAI

from ftsync.errors import LimitExceeded
from ftsync.ledger import Ledger
from ftsync.limits import DEFAULT_LIMITS, Limits, human_bytes
from ftsync.settings import OpenAISettings, WandbSettings
from ftsync.source import list_files
from ftsync.sync import JobOutcome, SyncOptions, SyncReport, sync_jobs
from ftsync.wandb_offline import offline_runs

from .hostile_server import HostileServer

KiB, MiB = 1 << 10, 1 << 20
SMALL = Limits(json_bytes=4 * MiB, result_bytes=256 * KiB, file_bytes=1 * MiB, pages=20, items=1_000,
               request_seconds=2.0, job_seconds=20.0)
SMALL_PEAK = 24 * MiB  # what a sync under SMALL may allocate, W&B and pandas included; unbounded: GBs


@dataclass
class Cost:
    report: SyncReport
    peak: int  # bytes: tracemalloc's peak during the sync
    seconds: float

    def outcome(self, job_id: str) -> JobOutcome:
        return next(o for o in self.report.outcomes if o.job_id == job_id)


def options(srv: HostileServer, env: dict[str, Path], limits: Limits | None, **kw) -> SyncOptions:
    kw.setdefault("openai", OpenAISettings(api_key=srv.api_key, base_url=srv.base_url))
    return SyncOptions(wandb=WandbSettings(mode="offline", dir=env["wandb"]), home=env["home"], limits=limits, **kw)


def measured_sync(opts: SyncOptions) -> Cost:
    tracemalloc.start()
    started = time.monotonic()
    try:
        report = sync_jobs(opts)
        return Cost(report, tracemalloc.get_traced_memory()[1], time.monotonic() - started)
    finally:
        tracemalloc.stop()


def check_contained(cost: Cost, srv: HostileServer, env: dict[str, Path], *, says: str, outcome: str = "failed",
                    peak: int = SMALL_PEAK, seconds: float = 8.0) -> JobOutcome:
    """The victim ends `outcome` with one line saying `says`; the other jobs sync; cost is bounded."""
    victim = cost.outcome(srv.victim["id"])
    assert victim.outcome == outcome, victim
    assert says in victim.message and "\n" not in victim.message, victim.message
    record = Ledger.in_home(env["home"]).get("", "OpenAI-Fine-Tune", srv.victim["id"])
    assert record is not None and record.state == outcome
    for job in srv.account.jobs[1:]:
        assert cost.outcome(job["id"]).outcome == "synced", cost.outcome(job["id"])
    assert cost.peak < peak, f"peak {cost.peak / MiB:.1f} MiB"
    assert cost.seconds < seconds, f"{cost.seconds:.1f} s"
    return victim


# ---- bodies ------------------------------------------------------------------------------------------

def test_an_endless_result_file_stops_at_result_bytes(sync_env):
    # unbounded: 6 GB RSS in 25 s and still reading
    with HostileServer({"endless-result"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    result = srv.victim["result_files"][0]
    victim = check_contained(cost, srv, sync_env, says="(limits.result_bytes)")
    assert victim.message == (f"result file {result} of {srv.victim['id']}: the server sent more than 256 KiB "
                              "(limits.result_bytes)")
    assert srv.hits[("files.content", result)] == 1  # a limit is not retried
    assert srv.victim["id"] not in {run.run_id for run in offline_runs(sync_env["wandb"])}


def test_a_gzip_bomb_result_file_is_decoded_only_up_to_the_limit(sync_env):
    # 4 MB of gzip expanding to 4 GiB; unbounded: 6 GB RSS in 16 s and still decoding
    with HostileServer({"gzip-result"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    check_contained(cost, srv, sync_env, says="the server sent more than 256 KiB (limits.result_bytes)")
    assert srv.hits[("files.content", srv.victim["result_files"][0])] == 1


def test_a_gzip_bomb_page_of_events_is_decoded_only_up_to_json_bytes(sync_env):
    # 1 MB of gzip, valid JSON padded with 1 GiB of spaces: smaller than json_bytes compressed, so only
    # decoding with a bound stops it; unbounded: 6 GB RSS in 18 s (the 4 GiB variant)
    with HostileServer({"gzip-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    victim = check_contained(cost, srv, sync_env, says="the server sent more than 4 MiB (limits.json_bytes)")
    assert victim.message.startswith(f"events of {srv.victim['id']}: ")
    assert srv.hits[("jobs.events", srv.victim["id"])] == 1


def test_an_encoding_we_cannot_bound_is_refused(sync_env):
    with HostileServer({"br-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    check_contained(cost, srv, sync_env, says="compressed its answer as 'br'; ftsync reads gzip or deflate only")
    assert srv.hits[("jobs.events", srv.victim["id"])] == 1


def test_a_page_of_events_that_is_not_objects_fails_that_job_in_one_line(sync_env):
    # events are read as the server sent them (no SDK objects): what is not a page of objects is refused
    with HostileServer({"garbled-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    victim = check_contained(cost, srv, sync_env, says="is not a page of a listing (no list of objects under \"data\")")
    assert victim.message.startswith(f"events of {srv.victim['id']}: ")
    assert srv.hits[("jobs.events", srv.victim["id"])] == 1


# ---- time ------------------------------------------------------------------------------------------

def test_a_server_dripping_its_headers_is_cut_off_at_request_seconds(sync_env):
    # status line and headers at a byte per 10 ms: the SDK's read timeout never fires; unbounded: 80 s
    with HostileServer({"slow-result"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    check_contained(cost, srv, sync_env, says="took longer than 2 s (limits.request_seconds)")
    assert srv.hits[("files.content", srv.victim["result_files"][0])] == 1


def test_a_server_dripping_its_body_is_cut_off_at_request_seconds(sync_env):
    # unbounded: the page of events takes 80 s
    with HostileServer({"slow-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    check_contained(cost, srv, sync_env, says="took longer than 2 s (limits.request_seconds)")
    assert srv.hits[("jobs.events", srv.victim["id"])] == 1


def test_one_jobs_fetching_ends_at_job_seconds_between_requests(sync_env):
    # endless pages, each in time, with page and item caps out of reach: the job's deadline ends them
    # (1.5 s is about 100 pages here; the page cap only keeps a regression from running forever)
    limits = Limits(pages=1_000, items=10**9, request_seconds=5.0, job_seconds=1.5)
    with HostileServer({"endless-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, limits))
    victim = check_contained(cost, srv, sync_env, says="took longer than 1.5 s (limits.job_seconds)",
                             peak=64 * MiB)
    assert victim.message == f"fetching {srv.victim['id']} took longer than 1.5 s (limits.job_seconds)"


def test_one_jobs_fetching_ends_at_job_seconds_inside_a_download(sync_env):
    # a training file dripping its body; each request may take 30 s, the whole job 1.5 s
    limits = Limits(request_seconds=30.0, job_seconds=1.5)
    with HostileServer({"slow-training"}) as srv:
        cost = measured_sync(options(srv, sync_env, limits))
    victim = check_contained(cost, srv, sync_env, says="took longer than 1.5 s (limits.job_seconds)")
    assert victim.message == f"fetching {srv.victim['id']} took longer than 1.5 s (limits.job_seconds)"
    assert not list((sync_env["home"] / "cache").rglob(f"*{srv.victim['training_file']}*"))  # no partial file


# ---- listings --------------------------------------------------------------------------------------

def test_endless_pages_of_events_stop_at_limits_pages(sync_env):
    # unbounded: 1,318 requests in 60 s and counting
    with HostileServer({"endless-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    check_contained(cost, srv, sync_env, says=f"events of {srv.victim['id']}: more than 20 pages; "
                                              "the server keeps sending more (limits.pages)")
    assert srv.hits[("jobs.events", srv.victim["id"])] == 20


def test_endless_items_stop_at_limits_items(sync_env):
    limits = Limits(pages=10**6, items=100, request_seconds=5.0, job_seconds=10.0)
    with HostileServer({"endless-checkpoints"}) as srv:
        cost = measured_sync(options(srv, sync_env, limits))
    check_contained(cost, srv, sync_env, says=f"checkpoints of {srv.victim['id']}: more than 100 items; "
                                              "the server keeps sending more (limits.items)")
    assert srv.hits[("jobs.checkpoints", srv.victim["id"])] == 6  # 20 items a page: 120 > 100


def test_a_page_sent_again_stops_the_listing_at_once(sync_env):
    with HostileServer({"repeated-events"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    check_contained(cost, srv, sync_env, says="the server sent the same page again")
    assert srv.hits[("jobs.events", srv.victim["id"])] == 2


def test_an_endless_job_listing_ends_the_sync_with_one_line(sync_env):
    with HostileServer({"endless-jobs"}) as srv:
        with pytest.raises(LimitExceeded) as caught:
            sync_jobs(options(srv, sync_env, SMALL))
    assert str(caught.value) == "listing jobs: more than 20 pages; the server keeps sending more (limits.pages)"
    assert srv.requests["jobs.list"] == 20 and srv.total_requests == 20


def test_an_endless_file_listing_stops_at_limits_pages():
    with HostileServer({"endless-files"}) as srv:
        client = OpenAISettings(api_key=srv.api_key, base_url=srv.base_url, limits=SMALL).client()
        with pytest.raises(LimitExceeded, match=r"^listing files: more than 20 pages"):
            list_files(client, limits=SMALL)
    assert srv.requests["files.list"] == 20


# ---- the file cache ------------------------------------------------------------------------------

def _cache_files(env: dict[str, Path]) -> list[Path]:
    return [p for p in (env["home"] / "cache").rglob("*") if p.is_file()] if (env["home"] / "cache").exists() else []


def test_an_endless_training_file_stops_at_its_listed_size(sync_env):
    # unbounded: 15 GB written to the cache in 60 s
    with HostileServer({"endless-training"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    train = srv.victim["training_file"]
    size = len(srv.account.files[train])
    check_contained(cost, srv, sync_env, outcome="partial",
                    says=f"file {train}: the server sent more than the {size:,} bytes it lists for the file")
    assert srv.hits[("files.content", train)] == 1
    assert all(train not in p.name for p in _cache_files(sync_env))  # nothing cached, no partial file left


def test_a_file_sending_more_than_it_lists_stops_after_the_listed_bytes(sync_env):
    # lists 100 bytes, sends forever; unbounded: 16 GB written in 60 s
    with HostileServer({"oversize-training"}) as srv:
        cost = measured_sync(options(srv, sync_env, SMALL))
    train = srv.victim["training_file"]
    check_contained(cost, srv, sync_env, outcome="partial", says="the server sent more than the 100 bytes it lists")
    assert all(train not in p.name for p in _cache_files(sync_env))


@pytest.mark.parametrize("limits", [SMALL, DEFAULT_LIMITS])
def test_a_file_over_file_bytes_is_refused_before_downloading(sync_env, limits):
    with HostileServer({"huge-training"}) as srv:  # it lists 10 GiB
        cost = measured_sync(options(srv, sync_env, limits))
    train = srv.victim["training_file"]
    check_contained(cost, srv, sync_env, outcome="partial",
                    says=f"file {train}: 10 GiB is more than {human_bytes(limits.file_bytes)} (limits.file_bytes); "
                         "not downloaded")
    assert srv.hits[("files.content", train)] == 0


def test_a_file_without_a_usable_size_is_refused_before_downloading(sync_env):
    with HostileServer({"unsized-training"}) as srv:  # "bytes": "12"
        cost = measured_sync(options(srv, sync_env, SMALL))
    train = srv.victim["training_file"]
    check_contained(cost, srv, sync_env, outcome="partial",
                    says=f"file {train}: the server lists no usable size ('12'); not downloaded")
    assert srv.hits[("files.content", train)] == 0


# ---- a client of the user's own (WandbLogger passes one): no transport of ours, same limits -------

@pytest.mark.parametrize(("mode", "says"), [
    ("endless-result", "the server sent more than 256 KiB (limits.result_bytes)"),
    ("endless-events", "more than 20 pages; the server keeps sending more (limits.pages)"),
    ("oversize-training", "the server sent more than the 100 bytes it lists"),
])
def test_a_users_own_client_gets_the_same_limits(sync_env, mode, says):
    with HostileServer({mode}) as srv:
        client = OpenAI(api_key=srv.api_key, base_url=srv.base_url)
        cost = measured_sync(options(srv, sync_env, SMALL, openai=None, client=client))
    check_contained(cost, srv, sync_env, says=says, outcome="partial" if mode == "oversize-training" else "failed",
                    peak=128 * MiB)  # without our transport, httpx may hold a 64 KiB read decoded at once


# ---- the default limits end quickly on loopback --------------------------------------------------

@pytest.mark.parametrize(("mode", "limit"), [("gzip-result", "result_bytes"), ("endless-result", "result_bytes"),
                                             ("gzip-events", "json_bytes")])
def test_the_default_limits_end_hostile_bodies_quickly(sync_env, mode, limit):
    # before: over 6 GB of memory within 16-25 s, still growing when stopped
    with HostileServer({mode}) as srv:
        cost = measured_sync(options(srv, sync_env, None))
    cap = getattr(DEFAULT_LIMITS, limit)
    check_contained(cost, srv, sync_env, says=f"the server sent more than {human_bytes(cap)} (limits.{limit})",
                    peak=3 * cap + 16 * MiB, seconds=10.0)  # measured: the cap and a few MiB
