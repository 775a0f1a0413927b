"""Signed webhooks from the emulator, as OpenAI sends them, so `ftsync watch --webhook-port` is tested
end to end on loopback.

When a job ends (succeeded, failed, cancelled), a POST of
`{"object": "event", "id": "evt_…", "type": "fine_tuning.job.succeeded", "created_at": …, "data": {"id": "ftjob-…"}}`
to the configured URL, with the Standard Webhooks headers OpenAI uses: `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, the
key being the base64 part of the endpoint's "whsec_…" secret. A delivery that fails or is not
answered 2xx is tried again a few times, as OpenAI does (it goes on for days; the emulator briefly).
Jobs that had already ended when the sender started send nothing: their events are history.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .workspace import Workspace

ENDED = {"succeeded": "fine_tuning.job.succeeded", "failed": "fine_tuning.job.failed",
         "cancelled": "fine_tuning.job.cancelled"}
RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0)  # waits before the 2nd .. 5th try


def new_secret() -> str:
    """A fresh endpoint secret in OpenAI's form."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for this delivery."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def delivery(secret: str, event_type: str, job_id: str, *, webhook_id: str | None = None,
             timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of one signed delivery: what the sender posts, and what tests replay or forge."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    webhook_id = webhook_id or "wh_" + os.urandom(16).hex()
    body = json.dumps({"object": "event", "id": "evt_" + os.urandom(16).hex(), "type": event_type,
                       "created_at": timestamp, "data": {"id": job_id}}).encode()
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(secret, webhook_id, timestamp, body), "Content-Type": "application/json"}
    return body, headers


@dataclass
class Sent:
    webhook_id: str
    event_type: str
    job_id: str
    status: int | None  # the receiver's answer to the last try; None: no answer
    tries: int
    at: float  # when the last try was answered (time.time())


class WebhookSender:
    """Watches the workspace's jobs and posts a signed delivery to `url` for each one that ends."""

    def __init__(self, ws: Workspace, url: str, secret: str, poll: float = 0.1):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook URL must be http(s)://…, not {url!r}")
        try:
            base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            secret = ""
        if not secret.startswith("whsec_"):
            raise ValueError("the webhook secret must be in OpenAI's form, whsec_<base64>")
        self.ws, self.url, self.secret, self.poll = ws, url, secret, poll
        self.sent: list[Sent] = []
        self._told: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ftsync-emulator-webhooks", daemon=True)

    def start(self) -> WebhookSender:
        with self.ws.lock:
            now = self.ws.now()
            self._told = {job_id for job_id, plan in self.ws.jobs.items() if plan.status(now) in ENDED}
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            with self.ws.lock:
                now = self.ws.now()
                ended = [(job_id, ENDED[status]) for job_id, plan in self.ws.jobs.items()
                         if job_id not in self._told and (status := plan.status(now)) in ENDED]
                self._told.update(job_id for job_id, _ in ended)
            for job_id, event_type in ended:
                self._deliver(event_type, job_id)

    def _deliver(self, event_type: str, job_id: str) -> None:
        body, headers = delivery(self.secret, event_type, job_id)
        record = Sent(headers["webhook-id"], event_type, job_id, None, 0, time.time())
        self.sent.append(record)
        for wait in (0.0, *RETRY_SECONDS):
            if self._stop.wait(wait):
                return
            # a retry is the same delivery (same webhook-id), signed again at its own time
            ts = int(time.time())
            headers = dict(headers, **{"webhook-timestamp": str(ts),
                                       "webhook-signature": sign(self.secret, record.webhook_id, ts, body)})
            record.tries += 1
            try:
                request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=5) as answer:
                    record.status = answer.status
            except urllib.error.HTTPError as exc:
                record.status = exc.code
            except (urllib.error.URLError, OSError):
                record.status = None
            record.at = time.time()
            if record.status is not None and 200 <= record.status < 300:
                return
