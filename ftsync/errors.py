"""Errors a user can cause, each with a one-line message the faces print as is.

Tracebacks are for bugs; everything here is expected and explained. Messages never carry an
API key: `describe_openai_error` rewrites the SDK's errors (whose 401 text echoes part of the
key) into our own words.
"""

from __future__ import annotations

import openai

MAX_SERVER_TEXT = 160  # what we quote of a server's own error text


class FtsyncError(Exception):
    """Base class: str(error) is one line for the user."""


class ConfigError(FtsyncError):
    """Bad or missing options or credentials; nothing was attempted."""


class LedgerError(ConfigError):
    """FTSYNC_HOME's ledger or locks cannot be read or written (full disk, read-only, damaged): a
    sync stops at once, since what it wrote to W&B could not be recorded."""


class AuthError(FtsyncError):
    """A service refused the credentials."""


class SourceError(FtsyncError):
    """OpenAI could not give us a job's data (missing file, corrupt result file, ...)."""


class SinkError(FtsyncError):
    """W&B refused or failed to take a job's data."""


class EndpointRefused(ConfigError):
    """The outbound policy refuses this address (the hosted dashboard reaches official endpoints only)."""


class LimitExceeded(SourceError):
    """A server sent more (bytes, pages, items) or took longer than ftsync.limits allows."""


def describe_openai_error(exc: BaseException, what: str = "") -> str:
    """One line for an OpenAI SDK exception, without the key and without the SDK's noise."""
    prefix = f"{what}: " if what else ""
    if isinstance(exc.__cause__, FtsyncError):  # our own transport refused (policy, limits): its words
        return f"{prefix}{exc.__cause__}"
    if isinstance(exc, openai.AuthenticationError):
        return f"{prefix}OpenAI rejected the API key (401 {exc.code or 'unauthorized'}); check the key and base URL"
    if isinstance(exc, openai.PermissionDeniedError):
        return f"{prefix}the API key has no permission for this (403); check the organization/project"
    if isinstance(exc, openai.NotFoundError):
        return f"{prefix}not found (404): {_message(exc)}"
    if isinstance(exc, openai.RateLimitError):
        return f"{prefix}rate limited by OpenAI (429) after retries: {_message(exc)}"
    if isinstance(exc, openai.APITimeoutError):
        return f"{prefix}OpenAI did not answer in time (timeout)"
    if isinstance(exc, openai.APIConnectionError):
        return f"{prefix}cannot reach OpenAI ({type(exc.__cause__).__name__ if exc.__cause__ else 'connection error'})"
    if isinstance(exc, openai.APIStatusError):
        return f"{prefix}OpenAI answered {exc.status_code}: {_message(exc)}"
    return f"{prefix}{type(exc).__name__}: {shorten(str(exc))}"


def describe_wandb_error(exc: BaseException, host: str, key: str | None = None) -> tuple[str, str]:
    """(kind, one line) for a wandb error: kind is "malformed" (the key's format), "rejected" (the server
    refused it), "unreachable" (no answer) or "error". wandb 0.31 puts no status code in these texts."""
    text = shorten(first_line(exc))
    if key:
        text = text.replace(key, "***")
    lower = text.lower()
    if "characters" in lower and "api key" in lower or "invalid api key format" in lower:
        return "malformed", f"the W&B API key is malformed ({text})"
    if any(s in lower for s in ("not logged in", "401", "unauthorized", "invalid api key", "permission denied",
                                "403")):
        return "rejected", f"W&B at {host} rejected the API key; check the key and the server URL"
    if any(s in lower for s in ("failed to execute api request", "connection", "timed out", "timeout", "giving up",
                                "did not respond", "unreachable", "name resolution", "max retries")):
        return "unreachable", f"cannot reach W&B at {host} ({text})"
    return "error", f"W&B at {host}: {text}"


def first_line(exc: BaseException) -> str:
    """An exception as one line of a message: its text's first line, else its type's name."""
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def shorten(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """Text a server wrote, as one line of at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    text = str(body.get("message") or exc.message)
    return shorten(text.splitlines()[0]) if text.strip() else f"HTTP {exc.status_code}"
