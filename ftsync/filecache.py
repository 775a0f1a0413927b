"""Training and validation files, streamed from OpenAI to a local cache once.

Files are cached by id under `$FTSYNC_HOME/cache/<key fingerprint>/files/`: an OpenAI file id
never changes content, so one download serves every job that shares the file, in this sync
and later ones, while another key (another user) never sees this key's files.
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import openai

from .errors import FtsyncError, LimitExceeded, SourceError, describe_openai_error
from .ids import shown, valid_file_id
from .limits import DEFAULT_LIMITS, Deadline, Limits, human_bytes, no_deadline
from .locks import file_lock

T = TypeVar("T")
TEMP_PREFIX = "."  # a download in progress: `.<file id>.<random>` beside its target


def allowed_size(file_id: str, size: Any, limits: Limits) -> int:
    """The size OpenAI lists for a file, if it may be downloaded: a server that lists none, or a
    wrong one, is refused before a byte is read, as is a file over limits.file_bytes."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise SourceError(f"file {file_id}: the server lists no usable size ({repr(size)[:40]}); not downloaded")
    if size > limits.file_bytes:
        raise LimitExceeded(f"file {file_id}: {human_bytes(size)} is more than {human_bytes(limits.file_bytes)} "
                            "(limits.file_bytes); not downloaded")
    return size


class FileCache:
    def __init__(self, home: Path, key_fingerprint: str):
        self.home = Path(home)
        self.root = self.home / "cache" / key_fingerprint / "files"
        self.key_fingerprint = key_fingerprint

    def path(self, file_id: str) -> Path:
        if not valid_file_id(file_id):  # it becomes a file name: letters and digits only
            raise SourceError(f"not a file id: {shown(file_id)}")
        return self.root / file_id

    def fetch(self, client: openai.OpenAI, file_id: str, expected_size: Any = None, *,
              limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None) -> Path:
        """The local path of `file_id`, downloading it (streamed, atomically) if needed.

        `expected_size` is the file's `bytes` as OpenAI lists it: without a usable one, or over
        limits.file_bytes, nothing is downloaded; a download that sends more stops at once, one
        that sends less is refused; either way nothing is cached and the partial file is removed.
        A download cut mid-body starts again from scratch (see `retry_cut_bodies`).
        """
        target = self.path(file_id)  # first: the id is quoted in the messages below
        size = allowed_size(file_id, expected_size, limits)
        if target.exists():
            return target
        deadline = deadline or no_deadline()
        with file_lock(self.home, "file", self.key_fingerprint, file_id):
            if target.exists():  # another worker fetched it while we waited
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers(file_id)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f"{TEMP_PREFIX}{file_id}.")
            os.close(fd)
            try:
                written = retry_cut_bodies(client, deadline, f"file {file_id}",
                                           lambda: _download(client, file_id, tmp, size, deadline))
                if written != size:
                    raise SourceError(f"file {file_id}: downloaded {written} bytes, OpenAI lists {size}")
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        return target

    def _remove_leftovers(self, file_id: str) -> None:
        """Temp files of a download that was killed: we hold the file's lock, so none is in use."""
        for stale in self.root.glob(f"{TEMP_PREFIX}{file_id}.*"):
            stale.unlink(missing_ok=True)


def stream_content(client: openai.OpenAI, file_id: str, cap: int, deadline: Deadline,
                   too_much: str) -> Iterator[bytes]:
    """A file's bytes as they arrive, never more than `cap` in all (else LimitExceeded(too_much)),
    the deadline checked after each piece: the one loop behind downloads and result files."""
    seen = 0
    with client.files.with_streaming_response.content(file_id) as response:
        for chunk in response.iter_bytes():
            seen += len(chunk)
            if seen > cap:
                raise LimitExceeded(too_much)
            yield chunk
            deadline.check()


def backoff_seconds(attempt: int) -> float:
    """The SDK's own schedule (0.5 s doubling to 8 s, with jitter), for retries it cannot make."""
    return min(0.5 * 2 ** attempt, 8.0) * random.uniform(0.75, 1.0)


def retry_cut_bodies(client: openai.OpenAI, deadline: Deadline, what: str, read: Callable[[], T]) -> T:
    """`read()`, again from the start when the connection is cut mid-body, with backoff, as often
    as the client retries a request: the SDK retries a request, not a body it has handed over.
    Other failures (a refusal, a limit, a corrupt encoding) are not retried: they would recur."""
    retries = max(0, int(getattr(client, "max_retries", 2)))
    for attempt in itertools.count():
        try:
            return read()
        except httpx.TransportError as exc:  # cut, reset or stalled mid-body
            if attempt >= retries:
                raise SourceError(f"{what}: download failed ({type(exc).__name__}, {attempt + 1} attempt(s))") from None
            deadline.check()
            time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")


def _download(client: openai.OpenAI, file_id: str, path: str, size: int, deadline: Deadline) -> int:
    """Stream the file into `path` (from scratch), never more than `size` bytes. A cut connection
    is raised as is (the caller retries); every other failure is one SourceError naming the file."""
    written = 0
    try:
        with open(path, "wb") as out:
            for chunk in stream_content(client, file_id, size, deadline,
                                        f"the server sent more than the {size:,} bytes it lists for the file"):
                out.write(chunk)
                written += len(chunk)
    except openai.OpenAIError as exc:
        raise SourceError(describe_openai_error(exc, f"file {file_id}")) from None
    except SourceError as exc:  # a limit (ours or the transport's), said without naming the file
        raise type(exc)(f"file {file_id}: {exc}") from None
    except (FtsyncError, httpx.TransportError):
        raise
    except OSError as exc:
        raise SourceError(f"file {file_id}: cannot write the cache ({exc.strerror})") from None
    except httpx.HTTPError as exc:  # the HTTP library's other errors, e.g. a body it cannot decode
        raise SourceError(f"file {file_id}: download failed ({type(exc).__name__})") from None
    return written
