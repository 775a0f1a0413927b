"""The HTTP client under every OpenAI client ftsync builds: outbound policy and limits, per request.

Wrapping the transport (not the SDK) puts one check in front of every request, redirects
included, and bounds every body before the SDK reads it:

- time: one deadline per request (limits.request_seconds) from sending to the last body byte.
  Every socket read is given at most the time left, so a server that sends a byte a second, or
  nothing at all, is cut off at the deadline, headers included;
- size: the body is counted after decoding, against limits.json_bytes for API answers and the
  larger of result_bytes/file_bytes for file contents (their callers bound them more tightly);
- compression: gzip and deflate are decoded here, a bounded step at a time, so a small
  compressed body never becomes more than the cap in memory (a "gzip bomb").

A breach raises `LimitExceeded`. The SDK retries only its own and httpx's errors, so ours
reaches the caller at once, unwrapped, and is not retried.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpcore2
import httpx2 as httpx  # the openai SDK (3.x) runs on httpx2, the same API
import openai

from .errors import LimitExceeded, SourceError
from .limits import Deadline, Limits, human_bytes

CONTENT_PATH = re.compile(r"/files/[^/]+/content$")  # a file's bytes (OpenAI and Azure paths)
ACCEPTED_ENCODINGS = "gzip, deflate"  # what we ask for: exactly what we can decode with bounds
STEP = 64 * 1024  # most bytes one decompression step may produce

T = TypeVar("T")


# ---- time: the deadline of the request this thread is sending or reading ----------------------

class _Current(threading.local):
    deadline: Deadline | None = None


_current = _Current()


@contextmanager
def _within(deadline: Deadline) -> Iterator[None]:
    previous, _current.deadline = _current.deadline, deadline
    try:
        yield
    finally:
        _current.deadline = previous


def _in_time(call: Callable[[float | None], T], timeout: float | None, timeout_error: type[Exception]) -> T:
    """Run a socket operation with at most the current request's time left as its timeout."""
    deadline = _current.deadline
    if deadline is None:
        return call(timeout)
    left = deadline.remaining()
    if left <= 0:
        raise deadline.exceeded()
    bound = left if timeout is None else min(timeout, left)
    try:
        return call(bound)
    except timeout_error:
        if bound == left:  # our deadline, not the SDK's own timeout: a limit, not to be retried
            raise deadline.exceeded() from None
        raise


class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose every read and write ends by the current request's deadline."""

    def __init__(self, inner: httpcore2.NetworkStream):
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _in_time(lambda t: self.inner.read(max_bytes, t), timeout, httpcore2.ReadTimeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _in_time(lambda t: self.inner.write(buffer, t), timeout, httpcore2.WriteTimeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        return _DeadlineStream(_in_time(lambda t: self.inner.start_tls(ssl_context, server_hostname, t),
                                        timeout, httpcore2.ConnectTimeout))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self.inner = httpcore2.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore2.NetworkStream:
        return _DeadlineStream(_in_time(lambda t: self.inner.connect_tcp(host, port, t, local_address, socket_options),
                                        timeout, httpcore2.ConnectTimeout))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore2.NetworkStream:
        return _DeadlineStream(_in_time(lambda t: self.inner.connect_unix_socket(path, t, socket_options),
                                        timeout, httpcore2.ConnectTimeout))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def _http_transport() -> httpx.HTTPTransport:
    """httpx's own transport (its exception mapping, its pool settings) on our network backend.

    httpx takes no network backend as an argument, so its pool is swapped for an identical one
    that has ours; the check fails loudly should a new httpx2 keep its pool elsewhere."""
    transport = httpx.HTTPTransport()
    if not isinstance(getattr(transport, "_pool", None), httpcore2.ConnectionPool):
        raise RuntimeError("httpx2.HTTPTransport changed: ftsync.transport cannot bound its reads")
    transport._pool.close()
    transport._pool = httpcore2.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=100, max_keepalive_connections=20,
        keepalive_expiry=5.0, network_backend=_DeadlineBackend())
    return transport


# ---- size and compression ----------------------------------------------------------------------

class _Inflate:
    """zlib decoding that never produces more than STEP bytes from one call."""

    def __init__(self, encoding: str):
        self.raw_fallback = encoding == "deflate"  # "deflate" is zlib-wrapped, but some servers send it raw
        self.z = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self.z.decompress(data, STEP)
            except zlib.error as exc:
                if not self.raw_fallback:
                    raise httpx.DecodingError(f"the server's compressed answer is corrupt ({exc})") from None
                self.raw_fallback, self.z = False, zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self.raw_fallback = False
            data = self.z.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        return self.z.flush()


class _BoundedBody(httpx.SyncByteStream):
    """The body as the SDK reads it: decoded, counted against the cap, read within the deadline."""

    def __init__(self, inner: httpx.SyncByteStream, deadline: Deadline, cap: int, limit: str,
                 inflate: _Inflate | None):
        self.inner, self.deadline, self.cap, self.limit, self.inflate = inner, deadline, cap, limit, inflate
        self.seen = 0

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self.inner)
        while True:
            with _within(self.deadline):
                chunk = next(chunks, None)
            if chunk is None:
                break
            for piece in (self.inflate.feed(chunk) if self.inflate else (chunk,)):
                yield self._counted(piece)
        if self.inflate:
            tail = self.inflate.flush()
            if tail:
                yield self._counted(tail)

    def _counted(self, piece: bytes) -> bytes:
        self.seen += len(piece)
        if self.seen > self.cap:
            raise LimitExceeded(f"the server sent more than {human_bytes(self.cap)} (limits.{self.limit})")
        return piece

    def close(self) -> None:
        self.inner.close()


def _cap(limits: Limits, url: httpx.URL) -> tuple[int, str]:
    """The most decoded bytes an answer may have, and the limit's name."""
    if CONTENT_PATH.search(url.path):
        return max((limits.result_bytes, "result_bytes"), (limits.file_bytes, "file_bytes"))
    return limits.json_bytes, "json_bytes"


def _inflater(response: httpx.Response) -> _Inflate | None:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Inflate(encoding)
    response.close()
    raise SourceError(f"the server compressed its answer as {encoding[:40]!r}; ftsync reads gzip or deflate only")


class BoundedTransport(httpx.BaseTransport):
    def __init__(self, limits: Limits, policy=None):
        self.inner = _http_transport()
        self.limits = limits
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.policy is not None:
            self.policy(str(request.url))
        request.headers["Accept-Encoding"] = ACCEPTED_ENCODINGS
        deadline = Deadline(self.limits.request_seconds, "request_seconds", "the answer")
        with _within(deadline):
            response = self.inner.handle_request(request)
        inflate = _inflater(response)
        cap, limit = _cap(self.limits, request.url)
        drop = {"content-encoding", "content-length"} if inflate else set()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
        return httpx.Response(status_code=response.status_code, headers=headers, extensions=response.extensions,
                              stream=_BoundedBody(response.stream, deadline, cap, limit, inflate))

    def close(self) -> None:
        self.inner.close()


def http_client(limits: Limits, policy=None, timeout: float = 120.0) -> httpx.Client:
    """An httpx client with the SDK's defaults, our transport underneath."""
    return openai.DefaultHttpxClient(transport=BoundedTransport(limits, policy), timeout=timeout)
