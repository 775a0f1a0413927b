"""A hostile (or just broken) OpenAI-compatible fine-tuning server, on loopback, for tests.

It serves a few healthy jobs the real `openai` SDK reads like OpenAI's, and turns the first
job, the "victim", hostile in the ways chosen by `modes`:

    endless-result     the result file's body never ends
    gzip-result        the result file is a gzip bomb (a few MB expanding to GBs)
    slow-result        the result file arrives a byte at a time, status line and headers included
    endless-training   the training file's body never ends
    oversize-training  the training file lists `bytes` far below what is sent (then sends forever)
    huge-training      the training file lists 10 GiB (then sends forever)
    unsized-training   the training file lists no usable size (`bytes: "12"`)
    slow-training      the training file's body arrives a byte at a time (headers at once)
    gzip-events        a page of events is a gzip bomb (valid JSON padded with GBs of spaces)
    slow-events        a page of events arrives a byte at a time (headers at once)
    br-events          a page of events compressed with an encoding ftsync does not decode (br)
    endless-events     event pages with `has_more: true` and fresh ids, forever
    repeated-events    the same page of events with `has_more: true`, forever
    garbled-events     a page of events whose "data" is a list of strings, not of objects
    endless-checkpoints  the same, fresh checkpoint ids forever
    endless-jobs       the job listing never ends (fresh, valid job ids)
    endless-files      the file listing never ends
    hostile-ids        the victim's id is `ftjob-$(touch${IFS}PWNED)`; the listing also holds a job
                       whose training file id is shell, one whose result file id is a path, and
                       one whose retrieve answers with the victim's id

It counts requests per route (`requests`) and per route and id (`hits`), and the body bytes it
sent (`sent`). It binds 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODES = {"endless-result", "gzip-result", "slow-result", "endless-training", "oversize-training", "huge-training",
         "unsized-training", "slow-training", "gzip-events", "slow-events", "br-events", "endless-events", "repeated-events",
         "garbled-events",
         "endless-checkpoints", "endless-jobs", "endless-files", "hostile-ids"}
API_KEY = "sk-hostile"
HOSTILE_JOB = "ftjob-$(touch${IFS}PWNED)"
HOSTILE_TRAINING_FILE = "file-$(touch${IFS}PWNED)"
HOSTILE_RESULT_FILE = "file-../../../PWNED"
BAD_TRAINING_JOB = "ftjob-badTrainingFileAAAAAAA"  # valid ids of jobs whose file ids are hostile
BAD_RESULT_JOB = "ftjob-badResultFileAAAAAAAAA"
SWAPPED_JOB = "ftjob-swappedAAAAAAAAAAAAAAAA"  # a valid id whose retrieve answers HOSTILE_JOB
MiB = 1 << 20
PAGE_ITEMS = 20  # items on an endless page
STEPS = 12  # metrics rows of a healthy job
BOMB_GIB = 4  # what a gzip bomb expands to
DRIP_SECONDS = 0.01  # between two bytes of a slow answer
SLOW_PADDING = 8192  # bytes a slow answer is padded with: over 80 s at a byte per DRIP_SECONDS


def ident(n: int, *parts: object) -> str:
    """A stable id body of `n` letters and digits."""
    digest = zlib.crc32(repr(parts).encode())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    out = []
    for i in range(n):
        digest = (digest * 1103515245 + 12345 + i) & 0x7FFFFFFF
        out.append(alphabet[digest % len(alphabet)])
    return "".join(out)


# ---- gzip bombs -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def gzip_bomb(prefix: bytes, filler: bytes, suffix: bytes, gib: int = BOMB_GIB) -> tuple[bytes, bytes, int, bytes]:
    """A valid gzip stream of prefix + gib GiB of `filler` + suffix, as (head, block, count, tail):
    send head, then block `count` times, then tail. Each block is one MiB of filler compressed after
    a full flush, so it decodes the same wherever it is repeated: building a 4 GiB bomb takes
    milliseconds and a few MB (compressing 4 GiB would take half a minute)."""
    mib = (filler * (MiB // len(filler) + 1))[:MiB]
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + z.compress(prefix) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(mib) + z.flush(zlib.Z_FULL_FLUSH)
    count = gib * 1024
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + count * MiB + len(suffix)
    tail = z.compress(suffix) + z.flush() + struct.pack("<II", crc, size & 0xFFFFFFFF)
    return head, block, count, tail


def result_bomb() -> tuple[bytes, bytes, int, bytes]:
    """4 MB expanding to 4 GiB of base64-looking bytes."""
    return gzip_bomb(b"", b"QUFB", b"")


def events_bomb() -> tuple[bytes, bytes, int, bytes]:
    """1 MB expanding to a valid page of events padded with 1 GiB of spaces."""
    return gzip_bomb(b'{"object": "list", "has_more": false, "data": [', b" ", b"]}", 1)


def bomb_length(parts: tuple[bytes, bytes, int, bytes]) -> int:
    head, block, count, tail = parts
    return len(head) + len(block) * count + len(tail)


def bomb_chunks(parts: tuple[bytes, bytes, int, bytes]) -> Iterator[bytes]:
    head, block, count, tail = parts
    yield head
    batch = block * 64
    for _ in range(count // 64):
        yield batch
    yield block * (count % 64)
    yield tail


# ---- the healthy account ------------------------------------------------------------------------

def result_csv(steps: int = STEPS) -> bytes:
    rows = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    rows += [f"{s},{1.0 / s:.4f},{0.5 + s / 100:.3f},," for s in range(1, steps + 1)]
    return ("\n".join(rows) + "\n").encode()


def training_jsonl(lines: int = 20) -> bytes:
    line = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
    return b"".join(json.dumps(line).encode() + b"\n" for _ in range(lines))


class Account:
    """Jobs and files: `jobs[0]` is the victim, the others stay healthy (but for hostile-ids)."""

    def __init__(self, n_jobs: int, hostile_ids: bool):
        self.created = 1_760_000_000
        self.jobs: list[dict[str, Any]] = [self.job(i) for i in range(n_jobs)]
        self.files: dict[str, bytes] = {}
        for job in self.jobs:
            self.files[job["training_file"]] = training_jsonl()
            self.files[job["result_files"][0]] = base64.b64encode(result_csv())
        if hostile_ids:
            self.jobs[0]["id"] = HOSTILE_JOB
            self.jobs[1:1] = [self.job(90, job_id=BAD_TRAINING_JOB, training_file=HOSTILE_TRAINING_FILE),
                              self.job(91, job_id=BAD_RESULT_JOB, result_file=HOSTILE_RESULT_FILE),
                              self.job(92, job_id=SWAPPED_JOB)]
            for job in self.jobs[1:4]:
                self.files.setdefault(job["training_file"], training_jsonl())
                self.files.setdefault(job["result_files"][0], base64.b64encode(result_csv()))

    def job(self, i: int, *, job_id: str | None = None, training_file: str | None = None,
            result_file: str | None = None) -> dict[str, Any]:
        job_id = job_id or "ftjob-" + ident(24, "job", i)
        return {
            "object": "fine_tuning.job", "id": job_id, "model": "gpt-4o-mini-2024-07-18",
            "created_at": self.created - i * 3600, "finished_at": self.created - i * 3600 + 600,
            "fine_tuned_model": f"ft:gpt-4o-mini-2024-07-18:hostile::{ident(8, 'model', i)}",
            "organization_id": "org-hostile", "status": "succeeded", "seed": 42, "trained_tokens": 1200,
            "training_file": training_file or "file-" + ident(24, "train", i), "validation_file": None,
            "result_files": [result_file or "file-" + ident(24, "result", i)],
            "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8},
            "method": {"type": "supervised", "supervised": {"hyperparameters": {
                "n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}}},
            "error": {}, "integrations": [], "metadata": None, "estimated_finish": None,
        }

    def job_by_id(self, job_id: str) -> dict[str, Any] | None:
        return next((j for j in self.jobs if j["id"] == job_id), None)

    def events(self, job_id: str) -> list[dict[str, Any]]:
        """Newest first, as OpenAI lists them."""
        out = [event(job_id, 0, "Created fine-tuning job")]
        out += [event(job_id, s, f"Step {s}/{STEPS}: training loss={1.0 / s:.4f}", step=s) for s in range(1, STEPS + 1)]
        out.append(event(job_id, STEPS + 1, "The job has successfully completed"))
        return out[::-1]

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        return [checkpoint(job_id, STEPS)]

    def file_object(self, file_id: str, size: Any = None) -> dict[str, Any]:
        return {"object": "file", "id": file_id, "bytes": len(self.files.get(file_id, b"")) if size is None else size,
                "created_at": self.created, "filename": f"{file_id}.jsonl", "purpose": "fine-tune", "status": "processed"}


def event(job_id: str, n: int, message: str, *, step: int | None = None, salt: object = "") -> dict[str, Any]:
    obj = {"object": "fine_tuning.job.event", "id": "ftevent-" + ident(24, job_id, n, salt), "created_at": 1_760_000_000 + n,
           "level": "info", "message": message, "data": {}, "type": "message"}
    if step is not None:
        obj["type"], obj["data"] = "metrics", {"step": step, "train_loss": 1.0 / step, "total_steps": STEPS}
    return obj


def checkpoint(job_id: str, step: int, salt: object = "") -> dict[str, Any]:
    return {"object": "fine_tuning.job.checkpoint", "id": "ftckpt_" + ident(24, job_id, step, salt),
            "created_at": 1_760_000_000 + step, "fine_tuning_job_id": job_id, "step_number": step,
            "fine_tuned_model_checkpoint": f"ft:gpt-4o-mini-2024-07-18:hostile::x:ckpt-step-{step}",
            "metrics": {"step": step, "train_loss": 1.0 / step}}


def page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    """A cursor page, the honest way: `after` an id, at most `limit` items."""
    limit = int((query.get("limit") or ["20"])[0])
    after = (query.get("after") or [None])[0]
    start = next((i + 1 for i, it in enumerate(items) if it["id"] == after), 0) if after else 0
    chunk = items[start:start + limit]
    return {"object": "list", "data": chunk, "has_more": start + limit < len(items)}


# ---- the server -------------------------------------------------------------------------------------

ROUTES = [
    ("jobs.list", re.compile(r"/v1/fine_tuning/jobs")),
    ("jobs.retrieve", re.compile(r"/v1/fine_tuning/jobs/([^/]+)")),
    ("jobs.events", re.compile(r"/v1/fine_tuning/jobs/([^/]+)/events")),
    ("jobs.checkpoints", re.compile(r"/v1/fine_tuning/jobs/([^/]+)/checkpoints")),
    ("files.list", re.compile(r"/v1/files")),
    ("files.retrieve", re.compile(r"/v1/files/([^/]+)")),
    ("files.content", re.compile(r"/v1/files/([^/]+)/content")),
]


class Answer:
    """What to send: a status, headers and a body (bytes, or chunks of unknown or endless length)."""

    def __init__(self, body: bytes | Iterator[bytes], status: int = 200, headers: dict[str, str] | None = None,
                 *, length: int | None = None, drip: str | None = None):
        # drip: None, "body" (headers at once) or "all" (status line and headers too)
        self.body, self.status, self.headers, self.drip = body, status, dict(headers or {}), drip
        self.length = len(body) if isinstance(body, bytes) else length

    @classmethod
    def json(cls, obj: Any, status: int = 200, **kw: Any) -> "Answer":
        return cls(json.dumps(obj).encode(), status, {"Content-Type": "application/json"}, **kw)

    @classmethod
    def error(cls, status: int, message: str) -> "Answer":
        return cls.json({"error": {"message": message, "type": "invalid_request_error", "code": None}}, status)


def endless(piece: bytes = b"QUFB" * 16384) -> Iterator[bytes]:
    """64 KiB of base64-looking bytes, forever."""
    while True:
        yield piece


class HostileServer:
    """`with HostileServer({"endless-result"}) as srv: OpenAI(base_url=srv.base_url, api_key=srv.api_key)`"""

    def __init__(self, modes: set[str] | frozenset[str] = frozenset(), *, jobs: int = 2):
        unknown = set(modes) - MODES
        if unknown:
            raise ValueError(f"unknown modes {sorted(unknown)}; known: {sorted(MODES)}")
        self.modes = set(modes)
        self.account = Account(jobs, "hostile-ids" in self.modes)
        self.victim = self.account.jobs[0]
        self.requests: Counter[str] = Counter()
        self.hits: Counter[tuple[str, str | None]] = Counter()  # (route, id in the path)
        self.paths: list[str] = []
        self.sent = 0  # body bytes written, all answers
        self.api_key = API_KEY
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = itertools.count()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hostile = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def __enter__(self) -> "HostileServer":
        # bombs are built before serving: a test measures what the client costs, not the server
        if "gzip-result" in self.modes:
            result_bomb()
        if "gzip-events" in self.modes:
            events_bomb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # endless writers stop at their next chunk
        self._server.shutdown()
        self._server.server_close()

    # ---- answers --------------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict[str, list[str]]) -> Answer:
        route, arg = _route(path)
        with self._lock:
            self.requests[route or "unknown"] += 1
            self.hits[(route or "unknown", arg)] += 1
            self.paths.append(path)
        if method != "GET" or route is None:
            return Answer.error(404, f"Invalid URL ({method} {path})")
        handler = getattr(self, "_" + route.replace(".", "_"))
        return handler(arg, query)

    def _jobs_list(self, _: str | None, query: dict[str, list[str]]) -> Answer:
        if "endless-jobs" in self.modes:
            n = next(self._counter)
            return Answer.json({"object": "list", "has_more": True,
                                "data": [self.account.job(1000 + n * PAGE_ITEMS + i) for i in range(PAGE_ITEMS)]})
        return Answer.json(page(self.account.jobs, query))

    def _jobs_retrieve(self, job_id: str, _: dict[str, list[str]]) -> Answer:
        job = self.account.job_by_id(job_id)
        if job is None:
            return Answer.error(404, f"Could not find fine-tuning job {job_id[:64]}.")
        if "hostile-ids" in self.modes and job_id == SWAPPED_JOB:
            return Answer.json(dict(job, id=HOSTILE_JOB))
        return Answer.json(job)

    def _jobs_events(self, job_id: str, query: dict[str, list[str]]) -> Answer:
        if job_id == self.victim["id"]:
            if "endless-events" in self.modes:
                n = next(self._counter)
                return Answer.json({"object": "list", "has_more": True, "data": [
                    event(job_id, i, "Still running", salt=n) for i in range(PAGE_ITEMS)]})
            if "garbled-events" in self.modes:
                return Answer.json({"object": "list", "has_more": True, "data": ["ftevent-1", "ftevent-2"]})
            if "repeated-events" in self.modes:
                return Answer.json({"object": "list", "has_more": True, "data": [
                    event(job_id, i, "Still running") for i in range(PAGE_ITEMS)]})
            if "gzip-events" in self.modes:
                bomb = events_bomb()
                return Answer(bomb_chunks(bomb), headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                              length=bomb_length(bomb))
            if "slow-events" in self.modes:
                padded = json.dumps(page(self.account.events(job_id), query)) + " " * SLOW_PADDING
                return Answer(padded.encode(), headers={"Content-Type": "application/json"}, drip="body")
            if "br-events" in self.modes:
                return Answer(b"\x1b\x00\x00", headers={"Content-Type": "application/json", "Content-Encoding": "br"})
        return Answer.json(page(self.account.events(job_id), query))

    def _jobs_checkpoints(self, job_id: str, query: dict[str, list[str]]) -> Answer:
        if job_id == self.victim["id"] and "endless-checkpoints" in self.modes:
            n = next(self._counter)
            return Answer.json({"object": "list", "has_more": True,
                                "data": [checkpoint(job_id, i + 1, salt=n) for i in range(PAGE_ITEMS)]})
        return Answer.json(page(self.account.checkpoints(job_id), query))

    def _files_list(self, _: str | None, query: dict[str, list[str]]) -> Answer:
        if "endless-files" in self.modes:
            n = next(self._counter)
            return Answer.json({"object": "list", "has_more": True, "data": [
                self.account.file_object("file-" + ident(24, "endless", n, i), size=10) for i in range(PAGE_ITEMS)]})
        files = [self.account.file_object(f) for f in self.account.files]
        return Answer.json(page(files, query))

    def _files_retrieve(self, file_id: str, _: dict[str, list[str]]) -> Answer:
        if file_id not in self.account.files:
            return Answer.error(404, f"No such File object: {file_id[:64]}")
        if file_id == self.victim["training_file"]:
            if "oversize-training" in self.modes:
                return Answer.json(self.account.file_object(file_id, size=100))
            if "huge-training" in self.modes:
                return Answer.json(self.account.file_object(file_id, size=10 << 30))
            if "unsized-training" in self.modes:
                return Answer.json(self.account.file_object(file_id, size="12"))
            if "slow-training" in self.modes:  # honest about its size, only slow
                return Answer.json(self.account.file_object(file_id, size=len(self.account.files[file_id]) + SLOW_PADDING))
        return Answer.json(self.account.file_object(file_id))

    def _files_content(self, file_id: str, _: dict[str, list[str]]) -> Answer:
        data = self.account.files.get(file_id)
        if data is None:
            return Answer.error(404, f"No such File object: {file_id[:64]}")
        binary = {"Content-Type": "application/octet-stream"}
        if file_id == self.victim["result_files"][0]:
            if "endless-result" in self.modes:
                return Answer(endless(), headers=binary)
            if "gzip-result" in self.modes:
                bomb = result_bomb()
                return Answer(bomb_chunks(bomb), headers=dict(binary, **{"Content-Encoding": "gzip"}),
                              length=bomb_length(bomb))
            if "slow-result" in self.modes:
                return Answer(data + b"\n" * SLOW_PADDING, headers=binary, drip="all")
        if file_id == self.victim["training_file"]:
            if {"endless-training", "oversize-training", "huge-training"} & self.modes:
                return Answer(endless(training_jsonl(1) * 256), headers=binary)
            if "slow-training" in self.modes:
                return Answer(data + b"\n" * SLOW_PADDING, headers=binary, drip="body")
        return Answer(data, headers=binary)


def _route(path: str) -> tuple[str | None, str | None]:
    for name, pattern in ROUTES:
        m = pattern.fullmatch(path)
        if m:
            return name, (m.group(1) if m.groups() else None)
    return None, None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # endless writers must not hold up shutdown
    hostile: HostileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-answer is the point of this server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle and delayed ACKs add 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        hostile = self.server.hostile
        url = urlsplit(self.path)
        if self.headers.get("Authorization") != f"Bearer {hostile.api_key}":
            self._send(Answer.error(401, "Incorrect API key provided"))
            return
        self._send(hostile.answer("GET", url.path, parse_qs(url.query)))

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, answer: Answer) -> None:
        head = [f"HTTP/1.1 {answer.status} {'OK' if answer.status == 200 else 'Error'}"]
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        chunked = answer.length is None
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {answer.length}")
        raw_head = ("\r\n".join(head) + "\r\n\r\n").encode()
        body = [answer.body] if isinstance(answer.body, bytes) else answer.body
        try:
            if answer.drip:
                whole = b"".join(body)
                if answer.drip == "body":
                    self.wfile.write(raw_head)
                self._drip((raw_head if answer.drip == "all" else b"") + whole)
                return
            self.wfile.write(raw_head)
            for chunk in body:
                if self.server.hostile._stop.is_set():
                    break
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
                self.server.hostile.sent += len(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up: what a bounded client does
            self.close_connection = True

    def _drip(self, data: bytes) -> None:
        """`data` one byte at a time."""
        for i in range(len(data)):
            if self.server.hostile._stop.is_set():
                break
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            self.server.hostile.sent += 1
            time.sleep(DRIP_SECONDS)
        self.close_connection = True
