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


def shorten(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """Text a server wrote, as one line of at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    text = str(body.get("message") or exc.message)
    return shorten(text.splitlines()[0]) if text.strip() else f"HTTP {exc.status_code}"
