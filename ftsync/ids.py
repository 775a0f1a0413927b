"""OpenAI's id formats, checked before an id from a server (or a user) is used.

Ids become W&B run ids and artifact names, cache file names, URL paths and words in the
commands we print, so anything else a server sends as an id is refused. OpenAI's ids are a
prefix and 24 (jobs, events, checkpoints) or 22-24 (files) letters and digits; Azure's are the
prefix and 32 hex digits. Only the alphabet and an upper bound are enforced, not the exact
length: a new length at OpenAI must not make every job disappear, and letters and digits are
what keeps an id harmless in a path, a name or a shell.
"""

from __future__ import annotations

import re

from .errors import SourceError

MAX_BODY = 64  # characters after the prefix; real ids have 22-32

_FORMATS = {
    "job": re.compile(rf"ftjob-[A-Za-z0-9]{{1,{MAX_BODY}}}"),
    "file": re.compile(rf"file-[A-Za-z0-9]{{1,{MAX_BODY}}}"),
    "checkpoint": re.compile(rf"ftckpt_[A-Za-z0-9]{{1,{MAX_BODY}}}"),
    "event": re.compile(rf"ftevent-[A-Za-z0-9]{{1,{MAX_BODY}}}"),
}

SHOWN = 40  # characters of a refused id quoted in a message


def _valid(kind: str, value: object) -> bool:
    return isinstance(value, str) and _FORMATS[kind].fullmatch(value) is not None


def valid_job_id(value: object) -> bool:
    """`ftjob-` and letters/digits (OpenAI: 24 of them; Azure: 32 hex)."""
    return _valid("job", value)


def valid_file_id(value: object) -> bool:
    """`file-` and letters/digits (OpenAI: 22 or 24; Azure: 32 hex)."""
    return _valid("file", value)


def valid_checkpoint_id(value: object) -> bool:
    """`ftckpt_` (an underscore) and letters/digits."""
    return _valid("checkpoint", value)


def valid_event_id(value: object) -> bool:
    return _valid("event", value)


def shown(value: object) -> str:
    """A refused id as it may appear in a message: repr (quotes and escapes, so control characters
    and shell syntax stay visible as text), cut to a few dozen characters."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def check_job_id(value: object) -> str:
    """`value` if it is a fine-tuning job id, else SourceError."""
    if not valid_job_id(value):
        raise SourceError(f"not a fine-tuning job id: {shown(value)}")
    return value  # type: ignore[return-value]


def check_file_id(value: object, what: str = "file") -> str:
    """`value` if it is a file id, else SourceError naming `what` (e.g. "result file of ftjob-…")."""
    if not valid_file_id(value):
        raise SourceError(f"{what}: not a file id: {shown(value)}")
    return value  # type: ignore[return-value]
