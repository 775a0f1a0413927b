"""Bounds on what a server may cost us: bytes, pages, items and time.

Any user of the hosted dashboard can point it at a server of their own, and a broken server can
do as much harm as a hostile one, so every read from OpenAI is bounded. The defaults are far
above what a real account needs (a 100,000-step job has about 100,000 events and a result file
of about 10 MB) and far below what would hurt a small shared container.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import LimitExceeded

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    json_bytes: int = 32 * MiB  # one API answer (a page of jobs, events, a file object), decoded
    result_bytes: int = 128 * MiB  # one result file, decoded (base64 CSV)
    file_bytes: int = 8 * 1024 * MiB  # one training or validation file (OpenAI's own limit is 512 MB)
    pages: int = 5_000  # pages followed in one listing
    items: int = 500_000  # items kept from one listing (a job's events, the account's jobs)
    request_seconds: float = 300.0  # one request, from sending to the last byte of its body
    job_seconds: float = 3_600.0  # fetching one job's everything (not counting waiting for it to finish)


DEFAULT_LIMITS = Limits()


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KiB": limits as a person reads them."""
    if n < 1024:
        return f"{n} bytes"
    size, unit = float(n), "bytes"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024:
            break
    return f"{size:.3g} {unit}" if size < 100 else f"{size:,.0f} {unit}"


class Deadline:
    """The moment some work must be done by. `check()` raises LimitExceeded once it has passed;
    the message names the limit (e.g. "job_seconds") so a user knows which knob was hit."""

    def __init__(self, seconds: float, limit: str, doing: str):
        self.seconds, self.limit, self.doing = seconds, limit, doing
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def exceeded(self) -> LimitExceeded:
        return LimitExceeded(f"{self.doing} took longer than {self.seconds:g} s (limits.{self.limit})")

    def check(self) -> None:
        if self.remaining() <= 0:
            raise self.exceeded()


def no_deadline() -> Deadline:
    """A deadline that never comes (callers that bound time elsewhere)."""
    return Deadline(float("inf"), "", "")
