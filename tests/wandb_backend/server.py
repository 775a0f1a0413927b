"""A W&B-compatible HTTP backend for testing wandb 0.31's online mode without W&B's servers.

What it emulates (enough for `wandb.init` incl. resume, `log`, `summary`, `config`, tables,
`log_artifact`, `use_artifact`, `finish`, and `wandb.Api` reading runs, history and artifacts):

* `POST /graphql`: the operations in `graphql.py`, dispatched by the operation name in the query
  text; HTTP Basic auth `api:<key>` against the keys given to `WandbBackend` (401 otherwise).
* `POST /files/<entity>/<project>/<run>/file_stream`: history, system-metrics and console lines
  placed at their offsets (so retries and resumed runs land where they belong), the summary, and
  `complete` + `exitcode` at the end of a run.
* `PUT /_upload/<token>`: the upload URLs the backend hands out (run files, artifact files and
  manifests); no auth, like signed storage URLs.
* `POST /sdk/otel/v1/...`: wandb's telemetry, accepted and dropped.

Artifacts behave like W&B's: a new version only for a new digest (the same digest returns the
existing version and applies the aliases asked for), one version per alias, `latest` moved to a
version when it is committed.

Rewind (`wandb.init(resume_from="<id>?_step=N")`, W&B's `RewindRun`) cuts a run's history back
to step N; `WandbBackend(rewind=False)` is a server without the feature, which refuses the field.

Anything else, and any GraphQL operation without a handler, gets HTTP 400 and a line in
`backend.errors`: wandb retries failures quietly for minutes, so an unanswered request must show
up as a test failure, not as a hang. Injected faults (`fail_next`, `fail_all`) and 401s are
answers, not errors.

Limits: no real GraphQL engine (each operation returns a fixed superset of the fields wandb
selects), no sweeps, reports, registries, artifact links, downloads of artifact or run files,
multipart uploads, incremental artifacts, TTLs, or entity permissions (any valid key may write
anywhere); `Runs` understands only simple equality filters and `created_at` ordering; history is
never exported to parquet (`scan_history` reads every page "live").
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .graphql import Context, execute, operation_name
from .state import ArtifactRecord, BackendState, GraphQLError, NotUnderstood, RequestRecord, RunRecord

FAULT_KINDS = ("graphql", "file_stream", "upload", "download", "any")


class HttpError(Exception):
    """An answer wandb should see as a failure (401, injected faults); not a backend error."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Faults:
    """Injected failures: the next n requests of a kind, or all of them until `heal()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: list[tuple[str, int]] = []  # (kind, status), consumed in order
        self._always: dict[str, int] = {}

    def fail_next(self, n: int, status: int, kind: str) -> None:
        with self._lock:
            self._next.extend([(kind, status)] * n)

    def fail_all(self, status: int, kind: str) -> None:
        with self._lock:
            self._always[kind] = status

    def heal(self) -> None:
        with self._lock:
            self._next.clear()
            self._always.clear()

    def take(self, kind: str) -> int | None:
        """The status to fail this request with, or None to serve it."""
        with self._lock:
            for k in (kind, "any"):
                if k in self._always:
                    return self._always[k]
            for i, (k, status) in enumerate(self._next):
                if k in (kind, "any"):
                    del self._next[i]
                    return status
            return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    backend: WandbBackend

    def handle_error(self, request: Any, client_address: Any) -> None:
        # wandb-core hangs up on timeouts and at teardown; that is normal here, not worth a traceback
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: wandb-core reuses connections
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded in backend.requests instead

    # ---- request -----------------------------------------------------------------------------
    def _serve(self) -> None:
        backend = self.server.backend
        path = urlsplit(self.path).path
        gzipped = self.headers.get("Content-Encoding", "").lower() == "gzip"
        record = backend.state.record(RequestRecord(self.command, path, None, self._key(), gzipped=gzipped))
        try:
            body = self._body()
            status, payload = self._route(backend, path, body, record)
        except NotUnderstood as exc:  # something wandb sent that the backend cannot answer: loud
            status, payload = 400, {"errors": [{"message": str(exc)}]}
            backend.state.error(f"{self.command} {path} [{record.operation}]: {exc}")
        except HttpError as exc:
            status, payload = exc.status, {"errors": [{"message": exc.message}]}
        except GraphQLError as exc:
            status, payload = 200, {"data": None, "errors": [{"message": str(exc)}]}
        except Exception as exc:  # noqa: BLE001 - a backend bug: loud, and an answer wandb will not retry
            traceback.print_exc()
            status, payload = 400, {"errors": [{"message": f"test backend crashed: {exc!r}"}]}
            backend.state.error(f"{self.command} {path} [{record.operation}]: crashed: {exc!r}")
        record.status = status
        self._send(status, payload)

    def _key(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, key = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError:
            return None
        return key if user == "api" else None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        return body

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                self.rfile.readline()  # the blank line after the last chunk
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _route(self, backend: WandbBackend, path: str, body: bytes, record: RequestRecord) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if self.command == "POST" and path == "/graphql":
            return self._graphql(backend, body, record)
        if self.command == "POST" and len(parts) == 5 and parts[0] == "files" and parts[4] == "file_stream":
            self._authenticate(backend, "file_stream")
            backend.state.apply_file_stream(parts[1], parts[2], parts[3], _json(body))
            return 200, {"exitcode": None, "limits": {}}
        if self.command == "PUT" and len(parts) == 2 and parts[0] == "_upload":
            self._fault(backend, "upload")  # no auth: like a signed storage URL
            if not backend.state.store_upload(parts[1], body):
                raise NotUnderstood(f"no upload URL {path} was handed out")
            return 200, None
        if self.command == "GET":
            return self._download(backend, parts)
        if self.command == "POST" and path.startswith("/sdk/otel/v1/"):
            return 200, None  # wandb's telemetry (metrics, logs): accepted and dropped
        raise NotUnderstood(f"the test W&B backend does not serve {self.command} {path}")

    def _graphql(self, backend: WandbBackend, body: bytes, record: RequestRecord) -> tuple[int, Any]:
        request = _json(body)
        query = request.get("query") or ""
        record.operation = operation_name(query)
        entity = self._authenticate(backend, "graphql")
        data = execute(Context(backend.state, entity, backend.base_url, query), query, request.get("variables") or {})
        return 200, {"data": data}

    def _download(self, backend: WandbBackend, parts: list[str]) -> tuple[int, Any]:
        """An artifact's manifest or one of its files, at the URLs the backend gave (or, by md5, W&B's)."""
        if len(parts) == 2 and parts[0] == "_manifests":
            artifact = backend.state.artifacts.get(unquote(parts[1]))
            if artifact is None or artifact.manifest is None:
                raise NotUnderstood(f"no manifest for artifact {unquote(parts[1])!r}")
            return 200, artifact.manifest
        if len(parts) >= 3 and parts[0] == "_files":  # like signed storage URLs: no auth
            artifact = backend.state.artifacts.get(unquote(parts[1]))
            name = unquote("/".join(parts[2:]))
            if artifact is None or name not in artifact.files:
                raise NotUnderstood(f"no file {name!r} in artifact {unquote(parts[1])!r}")
            return 200, artifact.files[name]
        # /artifactsV2/<region>/<entity>/<project>/<collection>/[<id>/]<birth id>/<md5 hex>/<name>, or V1's
        # /artifacts/<entity>/<md5 hex>
        if parts[0] in ("artifactsV2", "artifacts") and len(parts) >= 3:
            self._authenticate(backend, "download")
            md5_hex = parts[-2] if parts[0] == "artifactsV2" else parts[-1]
            if md5_hex not in backend.state.blobs:
                raise NotUnderstood(f"no artifact file with md5 {md5_hex}")
            return 200, backend.state.blobs[md5_hex]
        raise NotUnderstood(f"the test W&B backend does not serve GET /{'/'.join(parts)}")

    def _authenticate(self, backend: WandbBackend, kind: str) -> str:
        """The entity of the request's key; 401 for a missing or unknown key. Faults come after auth."""
        key = self._key()
        entity = backend.state.api_keys.get(key or "")
        if entity is None:
            raise HttpError(401, "user is not logged in")
        self._fault(backend, kind)
        return entity

    def _fault(self, backend: WandbBackend, kind: str) -> None:
        status = backend.faults.take(kind)
        if status is not None:
            raise HttpError(status, f"injected fault ({kind}): HTTP {status}")

    # ---- response ----------------------------------------------------------------------------
    def _send(self, status: int, payload: Any) -> None:
        """A JSON answer, or raw bytes (downloads) as they are."""
        raw = isinstance(payload, bytes)
        body = payload if raw else b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise NotUnderstood(f"body is not JSON: {body[:200]!r}") from exc
    if not isinstance(value, dict):
        raise NotUnderstood(f"body is not a JSON object: {body[:200]!r}")
    return value


class WandbBackend:
    """A W&B server on a local port, for wandb's online mode.

    >>> with WandbBackend(api_keys={"k" * 40: "team-a"}) as backend:
    ...     run = wandb.init(project="p", entity="team-a",
    ...                      settings=wandb.Settings(api_key="k" * 40, base_url=backend.base_url))
    """

    def __init__(self, api_keys: dict[str, str], *, host: str = "127.0.0.1", rewind: bool = True):
        self.state = BackendState(api_keys)
        self.state.rewind_supported = rewind
        self.faults = Faults()
        self.host = host
        self.port = 0  # known once started
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the backend is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> WandbBackend:
        self._server = _Server((self.host, 0), _Handler)
        self._server.backend = self
        self.port = self._server.server_address[1]
        # a short poll interval makes stop() prompt (tests start and stop many backends)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="wandb-test-backend", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WandbBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults --------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 500, kind: str = "any") -> None:
        """Answer the next n requests of `kind` (graphql, file_stream, upload, download, any) with `status`."""
        self.faults.fail_next(n, status, _check_kind(kind))

    def fail_all(self, status: int = 500, kind: str = "graphql") -> None:
        """Answer every request of `kind` with `status` until `heal()` (a W&B 500 storm)."""
        self.faults.fail_all(status, _check_kind(kind))

    def heal(self) -> None:
        self.faults.heal()

    # ---- what tests read -----------------------------------------------------------------------
    @property
    def errors(self) -> list[str]:
        """Requests the backend did not understand (answered 400); a passing test leaves it empty."""
        return self.state.errors

    @property
    def requests(self) -> list[RequestRecord]:
        with self.state.lock:
            return list(self.state.requests)

    def operations(self) -> list[str]:
        """GraphQL operation names received, in order."""
        return [r.operation for r in self.requests if r.operation]

    def keys_used(self) -> set[str | None]:
        """Keys of the requests that carry one: not telemetry, nor the upload and download URLs the
        backend hands out (signed storage URLs at W&B)."""
        unsigned = ("/sdk/otel/", "/_upload/", "/_manifests/", "/_files/")
        return {r.key for r in self.requests if not r.path.startswith(unsigned)}

    def run(self, entity: str, project: str, run_id: str) -> RunRecord:
        run = self.state.run(entity, project, run_id)
        if run is None:
            raise KeyError(f"no run {entity}/{project}/{run_id}; runs: {sorted(self.state.runs)}")
        return run

    def versions(self, entity: str, project: str, name: str) -> list[ArtifactRecord]:
        return self.state.versions(entity, project, name)

    def delete_run(self, entity: str, project: str, run_id: str) -> None:
        """Delete a run, as a user does in W&B's UI."""
        self.state.delete_run(entity, project, run_id)

    def aliases(self, artifact: ArtifactRecord) -> list[str]:
        return self.state.aliases(artifact)


def _check_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
    return kind
