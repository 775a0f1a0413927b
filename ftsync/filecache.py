"""Training and validation files, streamed from OpenAI to a local cache once.

Files are cached by id under `$FTSYNC_HOME/cache/<key fingerprint>/files/`: an OpenAI file id
never changes content, so one download serves every job that shares the file, in this sync
and later ones, while another key (another user) never sees this key's files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import openai

from .errors import SourceError, describe_openai_error
from .locks import file_lock

CHUNK = 1 << 20


class FileCache:
    def __init__(self, home: Path, key_fingerprint: str):
        self.home = Path(home)
        self.root = self.home / "cache" / key_fingerprint / "files"
        self.key_fingerprint = key_fingerprint

    def path(self, file_id: str) -> Path:
        if not file_id or "/" in file_id or file_id.startswith("."):
            raise SourceError(f"not a file id: {file_id!r}")
        return self.root / file_id

    def fetch(self, client: openai.OpenAI, file_id: str, expected_size: int | None = None) -> Path:
        """The local path of `file_id`, downloading it (streamed, atomically) if needed.

        A download whose size differs from the file's `bytes` is refused, not cached.
        """
        target = self.path(file_id)
        if target.exists():
            return target
        with file_lock(self.home, "file", self.key_fingerprint, file_id):
            if target.exists():  # another worker fetched it while we waited
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{file_id}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    with client.files.with_streaming_response.content(file_id) as response:
                        for chunk in response.iter_bytes(CHUNK):
                            out.write(chunk)
                size = os.path.getsize(tmp)
                if expected_size is not None and size != expected_size:
                    raise SourceError(f"file {file_id}: downloaded {size} bytes, OpenAI lists {expected_size}")
                os.replace(tmp, target)
            except openai.OpenAIError as exc:
                raise SourceError(describe_openai_error(exc, f"file {file_id}")) from None
            except OSError as exc:
                raise SourceError(f"file {file_id}: cannot write the cache ({exc.strerror})") from None
            except SourceError:
                raise
            except Exception as exc:  # the HTTP library's own errors, e.g. a connection cut mid-body
                raise SourceError(f"file {file_id}: download failed ({type(exc).__name__})") from None
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        return target
