"""The emulator's HTTP server: real sockets, one thread per connection, keep-alive.

Serves the OpenAI shape (`/v1/...`, `Authorization: Bearer KEY`) and the Azure OpenAI shape
(`/openai/...?api-version=...`, `api-key: KEY`) from the same workspace, and applies the fault
rules on the wire.
"""

from __future__ import annotations

import itertools
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import Api, ApiError, Request, Response, match_route
from .faults import FaultInjector, FaultRule
from .rand import ident
from .workspace import Workspace
from .workspaces import build_workspace

DEFAULT_API_KEY = "sk-emulator"
_request_counter = itertools.count()


def mask_key(key: str) -> str:
    """How OpenAI echoes a wrong key: a few characters each end, the rest hidden."""
    return f"{key[:3]}***{key[-4:]}" if len(key) > 10 else "***"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: "Emulator"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client hanging up (timeouts, killed processes) is normal here, not worth a traceback
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK, 40 ms per request on a kept-alive connection
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.emulator.verbose:
            # the request line only: never headers, which carry the key
            sys.stderr.write(f"emulator: {self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n")

    # ---- request -----------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        emu = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if emu.latency:
            time.sleep(emu.latency)
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        path = url.path
        try:
            path = self._strip_prefix(path, query)
            self._authenticate(emu.api_key)
            found = match_route(method, path)
            if found is None:
                raise ApiError(404, f"Invalid URL ({method} {url.path})")
            route, target = found
            fault = emu.faults.decide(route, target)
            if fault and fault.kind == "delay":
                time.sleep(fault.delay)
            if fault and fault.kind in ("429", "500", "503"):
                self._send(_fault_response(fault))
                return
            request = Request(method, path, query, body, self.headers.get("Content-Type", ""))
            response = emu.api.handle(route, target, request)
        except ApiError as exc:
            self._send(Response.json(exc.body(), exc.status, exc.headers))
            return
        except Exception:  # a bug in the emulator: say so as the real API would, keep serving
            traceback.print_exc()
            body_500 = ApiError(500, "The server had an error while processing your request. Sorry about that!",
                                type="server_error")
            self._send(Response.json(body_500.body(), 500))
            return
        self._send(response, fault)

    def _strip_prefix(self, path: str, query: dict[str, list[str]]) -> str:
        if path.startswith("/openai/"):
            path = path[len("/openai"):]
            if path.startswith("/v1/"):
                return path[3:]  # Azure's v1 API takes no api-version
            if not query.get("api-version"):
                raise ApiError(404, "Resource not found: Azure OpenAI requests need an api-version query parameter.",
                               code="404")
            return path
        if path.startswith("/v1/") or path == "/v1":
            return path[3:]
        raise ApiError(404, f"Invalid URL ({self.command} {path})")

    def _authenticate(self, expected: str) -> None:
        auth = self.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else self.headers.get("api-key", "")
        if not key:
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        if key != expected:
            raise ApiError(401, f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", code="invalid_api_key")

    # ---- response ----------------------------------------------------------------------------
    def _send(self, response: Response, fault: FaultRule | None = None) -> None:
        kind = fault.kind if fault else None
        body: bytes | Iterator[bytes] = response.body
        length = response.length
        if kind == "truncate":
            length = length // 2
            body = _limit(_chunks(body), length)
        elif kind == "corrupt":
            body = (_corrupt(c) for c in _chunks(body))
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("openai-version", "2020-10-01")
        self.send_header("openai-organization", self.server.emulator.api.ws.org_slug)
        self.send_header("openai-processing-ms", "12")
        self.send_header("x-request-id", "req_" + ident(32, "request", next(_request_counter)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if kind == "drop":
            # promise the whole body, deliver half, hang up: the client sees a broken connection
            for chunk in _limit(_chunks(body), length // 2):
                self.wfile.write(chunk)
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            for chunk in _chunks(body):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _chunks(body: bytes | Iterator[bytes]) -> Iterator[bytes]:
    if isinstance(body, bytes):
        yield body
    else:
        yield from body


def _limit(chunks: Iterator[bytes], n: int) -> Iterator[bytes]:
    for chunk in chunks:
        if n <= 0:
            return
        yield chunk[:n]
        n -= len(chunk)


def _corrupt(chunk: bytes) -> bytes:
    """Every 7th byte replaced by 0xFF: no longer UTF-8, base64, JSON or CSV."""
    data = bytearray(chunk)
    data[::7] = b"\xff" * len(data[::7])
    return bytes(data)


def _fault_response(fault: FaultRule) -> Response:
    if fault.kind == "429":
        headers = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0",
                   "x-ratelimit-reset-requests": f"{fault.retry_after or 1}s"}
        if fault.retry_after is not None:
            headers["retry-after"] = fault.retry_after
        if fault.retry_after_ms is not None:
            headers["retry-after-ms"] = fault.retry_after_ms
        error = ApiError(429, "Rate limit reached for requests per min (RPM): Limit 60, Used 60, Requested 1. "
                              f"Please try again in {fault.retry_after or 1}s.",
                         type="requests", code="rate_limit_exceeded", headers=headers)
    elif fault.kind == "503":
        error = ApiError(503, "The engine is currently overloaded, please try again later.", type="server_error")
    else:
        error = ApiError(500, "The server had an error while processing your request. Sorry about that!",
                         type="server_error")
    if fault.should_retry is not None:
        error.headers["x-should-retry"] = fault.should_retry
    return Response.json(error.body(), error.status, error.headers)


class Emulator:
    """An OpenAI-compatible fine-tuning server on a local port.

    >>> with Emulator("demo") as emu:
    ...     client = OpenAI(base_url=emu.base_url, api_key=emu.api_key)
    """

    def __init__(self, workspace: str | Workspace = "demo", *, host: str = "127.0.0.1", port: int = 0,
                 api_key: str = DEFAULT_API_KEY, mode: str = "realistic", faults: str | list[str] | None = None,
                 seed: int = 0, speed: float = 1.0, result_encoding: str = "base64", verbose: bool = False,
                 latency: float = 0.0, webhook_url: str | None = None, webhook_secret: str | None = None,
                 chat_rpm: int | None = None, deployments: dict[str, str] | None = None,
                 **workspace_options: Any):
        ws = workspace if isinstance(workspace, Workspace) else build_workspace(
            workspace, seed=seed, speed=speed, **workspace_options)
        self.api = Api(ws, mode=mode, result_encoding=result_encoding)
        self.api.chat_rpm = chat_rpm  # /chat/completions requests per minute (None: no limit, headers still sent)
        self.api.deployments = dict(deployments or {})  # Azure: deployment name -> model (fine-tuned or base)
        self.faults = FaultInjector.parse(faults, seed)
        if not latency >= 0:  # also refuses nan
            raise ValueError(f"latency must be 0 or more seconds, not {latency}")
        self.api_key, self.host, self.verbose = api_key, host, verbose
        self.latency = latency  # seconds added to every request: a real API's round trip, for benchmarks
        self._requested_port = port
        # signed webhooks to this URL when jobs end (emulator/webhooks.py), from start() on
        self.webhooks = None
        if webhook_url:
            from .webhooks import WebhookSender

            self.webhooks = WebhookSender(ws, webhook_url, webhook_secret or "")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def workspace(self) -> Workspace:
        return self.api.ws

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For `OpenAI(base_url=...)`."""
        return self.origin + "/v1"

    @property
    def azure_endpoint(self) -> str:
        """For `AzureOpenAI(azure_endpoint=...)`."""
        return self.origin

    def bind(self) -> "Emulator":
        """Open the listening socket (port 0 picks a free one); `base_url` is known from here on."""
        if self._server is None:
            self._server = _Server((self.host, self._requested_port), _Handler)
            self._server.emulator = self
        return self

    def start(self) -> "Emulator":
        """Serve from a background thread (tests, the dashboard's demo mode)."""
        self.bind()
        # a short poll interval makes stop() prompt (tests start and stop many emulators)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ftsync-emulator", daemon=True)
        self._thread.start()
        if self.webhooks is not None:
            self.webhooks.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI)."""
        self.bind()
        assert self._server is not None
        if self.webhooks is not None:
            self.webhooks.start()
        self._server.serve_forever()

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
        if self._server is not None:
            if self._thread is not None:  # shutdown() waits for a serve loop; only a started one has it
                self._server.shutdown()
                self._thread = None
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
