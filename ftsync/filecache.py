"""Training and validation files, streamed from OpenAI to a local cache once.

Files are cached by id under `$FTSYNC_HOME/cache/<key fingerprint>/files/`: an OpenAI file id
never changes content, so one download serves every job that shares the file, in this sync
and later ones, while another key (another user) never sees this key's files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from collections.abc import Iterator
from typing import IO, Any

import openai

from .errors import FtsyncError, LimitExceeded, SourceError, describe_openai_error
from .ids import shown, valid_file_id
from .limits import DEFAULT_LIMITS, Deadline, Limits, human_bytes, no_deadline
from .locks import file_lock


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
        """
        target = self.path(file_id)  # first: the id is quoted in the messages below
        size = allowed_size(file_id, expected_size, limits)
        if target.exists():
            return target
        with file_lock(self.home, "file", self.key_fingerprint, file_id):
            if target.exists():  # another worker fetched it while we waited
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{file_id}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    written = _download(client, file_id, out, size, deadline or no_deadline())
                if written != size:
                    raise SourceError(f"file {file_id}: downloaded {written} bytes, OpenAI lists {size}")
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        return target


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


def _download(client: openai.OpenAI, file_id: str, out: IO[bytes], size: int, deadline: Deadline) -> int:
    """Stream the file into `out`, never more than `size` bytes; every failure is one SourceError
    naming the file."""
    written = 0
    try:
        for chunk in stream_content(client, file_id, size, deadline,
                                    f"the server sent more than the {size:,} bytes it lists for the file"):
            out.write(chunk)
            written += len(chunk)
    except openai.OpenAIError as exc:
        raise SourceError(describe_openai_error(exc, f"file {file_id}")) from None
    except SourceError as exc:  # a limit (ours or the transport's), said without naming the file
        raise type(exc)(f"file {file_id}: {exc}") from None
    except FtsyncError:
        raise
    except OSError as exc:
        raise SourceError(f"file {file_id}: cannot write the cache ({exc.strerror})") from None
    except Exception as exc:  # the HTTP library's own errors, e.g. a connection cut mid-body
        raise SourceError(f"file {file_id}: download failed ({type(exc).__name__})") from None
    return written
