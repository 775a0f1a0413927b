"""OpenAI webhooks: the emulator signs them as OpenAI does, the receiver verifies them with the SDK.

The receiver's verdicts are checked one by one (good, forged, stale, unsigned, repeated, not a job
event); the emulator's deliveries are checked by the SDK's own `unwrap`, over real HTTP.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import openai
import pytest

from ftsync.emulator import Emulator
from ftsync.emulator.webhooks import ENDED, WebhookSender, delivery, new_secret, sign
from ftsync.errors import ConfigError
from ftsync.webhooks import WebhookReceiver, check_secret

from .helpers import openai_client
from .test_emulator_live import _chat_file

JOB = "ftjob-abcdefghijklmnopqrstuvwx"


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def receiver():
    got: list[tuple[str, str]] = []
    secret = new_secret()
    r = WebhookReceiver("127.0.0.1", 0, secret, lambda job, kind: got.append((job, kind))).start()
    r.got, r.test_secret = got, secret
    yield r
    r.close()


def test_a_signed_delivery_is_accepted_once_and_its_job_handed_on(receiver):
    body, headers = delivery(receiver.test_secret, "fine_tuning.job.succeeded", JOB)
    assert post(receiver.url, body, headers) == (200, {"ok": True, "detail": f"fine_tuning.job.succeeded {JOB}"})
    # OpenAI retries a delivery it thinks failed: the same webhook-id again changes nothing
    status, said = post(receiver.url, body, headers)
    assert status == 200 and "seen before" in said["detail"]
    assert receiver.got == [(JOB, "fine_tuning.job.succeeded")]
    assert receiver.counts == {"accepted": 1, "duplicate": 1, "refused": 0, "ignored": 0}


@pytest.mark.parametrize("forgery", ["other secret", "body changed", "unsigned", "no timestamp", "stale", "not json"])
def test_a_forged_or_broken_delivery_gets_400_and_changes_nothing(receiver, forgery):
    body, headers = delivery(receiver.test_secret, "fine_tuning.job.succeeded", JOB)
    if forgery == "other secret":
        body, headers = delivery(new_secret(), "fine_tuning.job.succeeded", JOB)
    elif forgery == "body changed":
        body = body.replace(JOB.encode(), b"ftjob-zzzzzzzzzzzzzzzzzzzzzzzz")
    elif forgery == "unsigned":
        del headers["webhook-signature"]
    elif forgery == "no timestamp":
        del headers["webhook-timestamp"]
    elif forgery == "stale":  # a replay of an old delivery, correctly signed back then
        body, headers = delivery(receiver.test_secret, "fine_tuning.job.succeeded", JOB, timestamp=int(time.time()) - 3600)
    else:
        body = b"not json"
        ts = int(time.time())
        headers.update({"webhook-timestamp": str(ts), "webhook-signature": sign(receiver.test_secret, headers["webhook-id"], ts, body)})
    status, said = post(receiver.url, body, headers)
    assert status == 400 and said["ok"] is False and said["detail"].startswith("refused")
    assert receiver.got == [] and receiver.counts["refused"] == 1


def test_events_that_are_not_about_a_fine_tuning_job_are_acknowledged_and_ignored(receiver):
    for kind, job in (("batch.completed", JOB), ("fine_tuning.job.succeeded", "../../etc/passwd")):
        body, headers = delivery(receiver.test_secret, kind, job)
        assert post(receiver.url, body, headers)[0] == 200
    assert receiver.got == [] and receiver.counts["ignored"] == 2


def test_an_oversized_delivery_is_refused_before_it_is_read(receiver):
    body, headers = delivery(receiver.test_secret, "fine_tuning.job.succeeded", JOB)
    status, said = post(receiver.url, body + b" " * 70_000, headers)
    assert status == 413 and said["detail"] == "a delivery is at most 65536 bytes" and receiver.got == []


def test_the_secret_must_be_openais_form():
    assert check_secret(" whsec_c2VjcmV0 ") == "whsec_c2VjcmV0"
    for bad in (None, "", "whsec_***"):
        with pytest.raises(ConfigError):
            check_secret(bad)
    for bad in ("whsec_***", "plain"):  # the emulator's sender refuses it up front, not in its thread
        with pytest.raises(ValueError, match="whsec_<base64>"):
            Emulator("empty", webhook_url="http://127.0.0.1:9/", webhook_secret=bad)


def test_the_emulator_sends_a_signed_webhook_the_sdk_accepts_when_a_job_ends():
    """Proves the emulator's deliveries are OpenAI's format: the SDK's own unwrap verifies them."""
    secret = new_secret()
    got = []
    receiver = WebhookReceiver("127.0.0.1", 0, secret, lambda job, kind: got.append((job, kind, time.time()))).start()
    try:
        with Emulator("empty", speed=400, webhook_url=receiver.url, webhook_secret=secret) as emu:
            client = openai_client(emu)
            train = client.files.create(file=("train.jsonl", _chat_file(20)), purpose="fine-tune")
            ok = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id)
            stopped = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id)
            client.fine_tuning.jobs.cancel(stopped.id)
            deadline = time.monotonic() + 30
            while len(got) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            ended = client.fine_tuning.jobs.retrieve(ok.id)
        assert ended.status == "succeeded"
        assert sorted((j, k) for j, k, _ in got) == sorted([(ok.id, "fine_tuning.job.succeeded"),
                                                            (stopped.id, "fine_tuning.job.cancelled")])
        assert all(s.status == 200 and s.tries == 1 for s in emu.webhooks.sent)
        # and the SDK's unwrap accepts what the emulator signs (its parsing, its types)
        body, headers = delivery(secret, "fine_tuning.job.failed", JOB)
        event = openai.OpenAI(api_key="x").webhooks.unwrap(body, headers, secret=secret)
        assert event.type == "fine_tuning.job.failed" and event.data.id == JOB
    finally:
        receiver.close()


def test_jobs_that_had_ended_before_the_sender_started_send_nothing(frozen_demo):
    """The demo's 30-odd finished jobs ended before: nothing; a live one ending later: its webhook."""
    seen = []
    secret = new_secret()
    receiver = WebhookReceiver("127.0.0.1", 0, secret, lambda job, kind: seen.append(job)).start()
    sender = WebhookSender(frozen_demo.workspace, receiver.url, secret, poll=0.02).start()
    time.sleep(0.3)
    assert seen == [] and sender.sent == []
    jobs = frozen_demo.workspace.jobs
    pending = {j for j, p in jobs.items() if p.status(frozen_demo.clock.now) not in ENDED}
    later = frozen_demo.clock.now + 30 * 24 * 3600  # a month later every live job but a paused one has ended
    live = {j for j in pending if jobs[j].status(later) in ENDED}
    frozen_demo.clock.now = later
    deadline = time.monotonic() + 10
    while len(seen) < len(live) and time.monotonic() < deadline:
        time.sleep(0.05)
    sender.stop()
    receiver.close()
    assert live and sorted(seen) == sorted(live)


def test_a_delivery_that_is_not_answered_is_tried_again(tmp_path):
    secret = new_secret()
    with Emulator("empty", speed=400) as emu:
        # nothing listens on this port yet: the first tries fail, then a receiver comes up on it
        receiver = WebhookReceiver("127.0.0.1", 0, secret, lambda job, kind: None)
        url = receiver.url
        receiver.close()
        sender = WebhookSender(emu.workspace, url, secret, poll=0.02).start()
        client = openai_client(emu)
        train = client.files.create(file=("train.jsonl", _chat_file(20)), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id)
        client.fine_tuning.jobs.cancel(job.id)
        deadline = time.monotonic() + 10
        while not (sender.sent and sender.sent[0].tries >= 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        got = []
        again = WebhookReceiver("127.0.0.1", port, secret, lambda j, kind: got.append(j)).start()
        deadline = time.monotonic() + 15
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        sender.stop()
        again.close()
    assert got == [job.id] and sender.sent[0].status == 200 and sender.sent[0].tries >= 3


def test_a_delivery_dripped_a_byte_at_a_time_is_cut_at_the_request_deadline():
    """Each read has a timeout, the whole request a deadline: a client sending a byte every 0.2 s
    (never idle long enough for the read timeout) is cut after request_seconds."""
    import socket

    r = WebhookReceiver("127.0.0.1", 0, new_secret(), lambda job, kind: None, request_seconds=1.0).start()
    try:
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
            started = time.monotonic()
            cut = False
            for byte in b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n" * 10:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    cut = True
                    break
                time.sleep(0.2)
                if time.monotonic() - started > 4:
                    break
            if not cut:
                s.settimeout(2)
                cut = s.recv(100) == b""  # the server closed its end
        assert cut and time.monotonic() - started < 4
    finally:
        r.close()


def test_connections_beyond_the_cap_get_503_without_a_thread():
    import socket

    r = WebhookReceiver("127.0.0.1", 0, new_secret(), lambda job, kind: None, max_connections=2).start()
    held = [socket.create_connection(("127.0.0.1", r.port), timeout=5) for _ in range(2)]
    try:
        time.sleep(0.3)  # the two are being served (waiting for their request line)
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as extra:
            assert extra.recv(100).startswith(b"HTTP/1.0 503")
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)  # their slots are free again
    body, headers = delivery(r.secret, "fine_tuning.job.succeeded", JOB)
    try:
        assert post(r.url, body, headers)[0] == 200
    finally:
        r.close()


def test_the_emulator_command_sends_webhooks_to_the_url_given(tmp_path):
    import os
    import subprocess
    import sys

    from openai import OpenAI

    secret = new_secret()
    got = []
    receiver = WebhookReceiver("127.0.0.1", 0, secret, lambda job, kind: got.append((job, kind))).start()
    env = {**os.environ, "OPENAI_WEBHOOK_SECRET": secret}
    proc = subprocess.Popen([sys.executable, "-m", "ftsync.cli", "emulator", "--workspace", "empty", "--webhook-url",
                             receiver.url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().strip()
        proc.stdout.readline()
        assert proc.stdout.readline().strip() == f"webhooks: to {receiver.url} as jobs end"
        client = OpenAI(base_url=base_url, api_key="sk-emulator")
        train = client.files.create(file=("train.jsonl", _chat_file(20)), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id)
        client.fine_tuning.jobs.cancel(job.id)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == [(job.id, "fine_tuning.job.cancelled")]
    finally:
        proc.terminate()
        proc.wait(10)
        receiver.close()
    assert secret not in proc.stdout.read() + proc.stderr.read()
