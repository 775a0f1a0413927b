"""Bounds on what a server may cost us: bytes, pages, items and time.

Any user of the hosted dashboard can point it at a server of their own, and a broken server can
do as much harm as a hostile one, so every read from OpenAI is bounded. The defaults are far
above what a real account needs (a 100,000-step job has about 100,000 events and a result file
of about 10 MB) and far below what would hurt a small shared container.
"""

from __future__ import annotations

from dataclasses import dataclass

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
