"""A loopback HTTP server that records every request it gets: the "attacker's server" of the
key-redirection tests, and the target a redirect must never reach."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorder:
    """Answers every request with `status` and `body` (or a redirect to `redirect`), recording
    (method, path, headers). Bind to any 127.x address."""

    def __init__(self, host: str = "127.0.0.1", *, status: int = 401, body: Any = None, redirect: str | None = None):
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.status, self.redirect = status, redirect
        self.body = body if body is not None else {"error": {"message": "Incorrect API key provided",
                                                             "type": "invalid_request_error", "code": "invalid_api_key"}}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                recorder.requests.append((self.command, self.path, dict(self.headers)))
                if recorder.redirect:
                    self.send_response(307)
                    self.send_header("Location", recorder.redirect + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps(recorder.body).encode()
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    def saw(self, secret: str) -> bool:
        """Whether `secret` reached this server anywhere in a request line or header."""
        return any(secret in path or any(secret in v for v in headers.values()) for _, path, headers in self.requests)

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
