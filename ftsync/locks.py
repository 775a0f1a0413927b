"""Cross-process locks (flock on files under $FTSYNC_HOME/locks).

flock locks belong to an open file description, so two threads that each open the lock file
exclude each other as surely as two processes do: one mechanism covers a CLI sync running
beside the dashboard and two dashboard users pressing sync on the same job.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LedgerError
from .settings import fingerprint


class LockTimeout(Exception):
    pass


def _open_lock(home: Path, name: tuple[str, ...]) -> int:
    """The lock file named by `name` (hashed into a file name), opened; created with its folder."""
    folder = Path(home) / "locks"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder / f"{fingerprint(*name)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:  # a full or read-only FTSYNC_HOME: nothing can be synced safely
        raise LedgerError(f"cannot create a lock in {folder} ({exc.strerror}); free space there, make it "
                          "writable, or set FTSYNC_HOME") from None


@contextmanager
def file_lock(home: Path, *name: str, timeout: float | None = None, poll: float = 0.05) -> Iterator[None]:
    """Hold the lock named by `name` (hashed into a file name) until the block ends."""
    fd = _open_lock(home, name)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeout(f"lock {'/'.join(name)} is held elsewhere") from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_locked(home: Path, *name: str) -> bool:
    """Whether someone holds the lock right now (for showing 'syncing' in the dashboard)."""
    path = Path(home) / "locks" / f"{fingerprint(*name)}.lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


class LockHeld(Exception):
    """The lock is held by another process; `holder` is what that process wrote into it."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


@contextmanager
def exclusive(home: Path, *name: str, holder: str) -> Iterator[None]:
    """Hold the lock named by `name` for as long as the block runs, or raise LockHeld at once.

    `holder` (who holds it: pid, host, since when) is written into the lock file for the next one to
    read; the lock itself is the flock, so a killed holder never leaves a stale lock behind."""
    fd = _open_lock(home, name)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            raise LockHeld(text or "another process") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
