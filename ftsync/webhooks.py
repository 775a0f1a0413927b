"""A receiver for OpenAI's fine-tuning webhooks: `ftsync watch --webhook-port N` syncs a job the
moment OpenAI says it ended, instead of at the next poll.

Each delivery is verified by the `openai` SDK (`client.webhooks.unwrap`: the signature over
"<webhook-id>.<timestamp>.<body>" with the endpoint's secret, and a timestamp within 5 minutes);
a bad or missing signature gets 400 and changes nothing. A good one is answered 200 at once (OpenAI
retries deliveries that are slow to answer) and handed to `on_job` for a sync; a delivery seen
before (same webhook-id: OpenAI retries, or a replay) is answered 200 and otherwise ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai

from .errors import ConfigError
from .ids import shown, valid_job_id

log = logging.getLogger(__name__)

JOB_EVENTS = ("fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled")
MAX_BODY = 64 * 1024  # a fine-tuning event is a few hundred bytes
REMEMBERED = 10_000  # webhook ids kept to recognise a repeated delivery
REQUEST_SECONDS = 10.0  # a whole request, however slowly it drips, or the connection is cut
MAX_CONNECTIONS = 32  # at once; more are answered 503 without a thread (OpenAI retries)
WARN_EVERY = 10.0  # seconds between log lines about refused deliveries (a flood is one line per period)


def check_secret(secret: str | None) -> str:
    """The endpoint's signing secret as OpenAI shows it ("whsec_..."); ConfigError otherwise."""
    if not secret:
        raise ConfigError("webhooks need the endpoint's signing secret in OPENAI_WEBHOOK_SECRET (whsec_...)")
    secret = secret.strip()
    if secret.startswith("whsec_"):
        try:
            base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError("OPENAI_WEBHOOK_SECRET starts with whsec_ but the rest is not base64") from None
    return secret


class WebhookReceiver:
    """An HTTP server on (host, port) taking POSTs of OpenAI webhook deliveries, on its own threads.

    `on_job(job_id, event_type)` is called once per new, verified fine-tuning job event; it must
    return quickly (the watcher only queues the id)."""

    def __init__(self, host: str, port: int, secret: str, on_job: Callable[[str, str], None], *,
                 request_seconds: float = REQUEST_SECONDS, max_connections: int = MAX_CONNECTIONS):
        self.secret = check_secret(secret)
        self.on_job = on_job
        # unwrap() makes no request: the client only carries the SDK's verification code
        self._verifier = openai.OpenAI(api_key="unused-webhook-verification", webhook_secret=self.secret)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.counts = {"accepted": 0, "duplicate": 0, "refused": 0, "ignored": 0}
        self.request_seconds = request_seconds
        self._refused_since_warning, self._warned_at = 0, -WARN_EVERY
        self._server = _Server((host, port), _Handler)
        self._server.receiver = self
        self._server.slots = threading.BoundedSemaphore(max_connections)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ftsync-webhooks", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve loop: only a started one has it
            self._server.shutdown()
        self._server.server_close()

    def receive(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """(HTTP status, one-line reason) for one delivery."""
        try:
            event = self._verifier.webhooks.unwrap(body, headers, secret=self.secret)
        except (openai.InvalidWebhookSignatureError, ValueError, TypeError) as exc:
            # ValueError: a required header missing, or a body that is not JSON
            return self._count("refused", 400, f"refused: {str(exc).splitlines()[0][:120]}")
        delivery = headers.get("webhook-id", "")
        with self._lock:
            repeated = delivery in self._seen
            self._seen[delivery] = None
            while len(self._seen) > REMEMBERED:
                self._seen.popitem(last=False)
        if repeated:
            return self._count("duplicate", 200, f"delivery {shown(delivery)} seen before")
        kind = getattr(event, "type", None)
        job_id = getattr(getattr(event, "data", None), "id", None)
        if kind not in JOB_EVENTS or not valid_job_id(job_id):
            return self._count("ignored", 200, f"not a fine-tuning job event ({shown(kind)})")
        self.on_job(str(job_id), str(kind))
        return self._count("accepted", 200, f"{kind} {job_id}")

    def _count(self, what: str, status: int, reason: str) -> tuple[int, str]:
        with self._lock:
            self.counts[what] += 1
        return status, reason

    def warn_refused(self, peer: str, reason: str) -> None:
        """One log line per WARN_EVERY seconds at most, saying how many were refused meanwhile."""
        with self._lock:
            self._refused_since_warning += 1
            now = time.monotonic()
            if now - self._warned_at < WARN_EVERY:
                return
            count, self._refused_since_warning, self._warned_at = self._refused_since_warning, 0, now
        log.warning("webhook from %s %s%s", peer, reason, f" (and {count - 1} more refused)" if count > 1 else "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # full: no thread for this one
            try:
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a client that stops sending mid-request is dropped

    def setup(self) -> None:
        super().setup()
        # the socket timeout bounds each read, not a request dripped a byte at a time: cut it at the deadline
        self._deadline = threading.Timer(self.server.receiver.request_seconds, self._cut)
        self._deadline.daemon = True
        self._deadline.start()

    def _cut(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def finish(self) -> None:
        self._deadline.cancel()
        try:
            super().finish()
        except OSError:  # the connection was cut
            pass

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._answer(411, "a Content-Length is required")
        if not 0 <= length <= MAX_BODY:
            return self._answer(413, f"a delivery is at most {MAX_BODY} bytes")
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, reason = self.server.receiver.receive(body, headers)
        self._answer(status, reason)
        if status >= 400:
            self.server.receiver.warn_refused(self.client_address[0], reason)

    def do_GET(self) -> None:
        self._answer(200, "ftsync webhook receiver: POST OpenAI's fine-tuning webhooks here")

    def _answer(self, status: int, reason: str) -> None:
        body = json.dumps({"ok": status < 400, "detail": reason}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
