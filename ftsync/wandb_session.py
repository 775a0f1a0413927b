"""Keeping wandb's process-wide credentials untouched while ftsync uses explicit ones.

wandb 0.31 treats an explicit key (`wandb.init(settings=Settings(api_key=..., base_url=...))`,
`wandb.Api(api_key=...)`) as the process's session credentials from then on, and writes the key
and server into its global settings, so a later run or `wandb.Api()` without explicit ones goes to
whatever server the previous caller used: in the hosted dashboard, another visitor's. ftsync's own
calls always pass both; `explicit_credentials()` puts the process's previous state back after each
one, so nothing is left behind. The state is read and restored under one lock (wandb keeps it in
module globals), which only serialises the short set-up calls, not the runs themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()


def _snapshot() -> tuple[Any, ...] | None:
    try:
        from wandb.sdk import wandb_setup
        from wandb.sdk.lib.wbauth import authenticate
    except ImportError:  # a wandb without session credentials: nothing to keep
        return None
    settings = wandb_setup.singleton().settings
    return authenticate._session_auth, settings.api_key, settings.base_url, settings.identity_token_file


def _restore(state: tuple[Any, ...]) -> None:
    from wandb.sdk import wandb_setup
    from wandb.sdk.lib.wbauth import authenticate

    auth, api_key, base_url, token_file = state
    with authenticate._session_auth_lock:
        authenticate._session_auth = auth
    settings = wandb_setup.singleton().settings
    settings.api_key, settings.base_url, settings.identity_token_file = api_key, base_url, token_file


@contextmanager
def explicit_credentials(active: bool = True) -> Iterator[None]:
    """Around a wandb call given explicit credentials: the process's own are as before afterwards."""
    if not active:
        yield
        return
    with _lock:
        state = _snapshot()
        try:
            yield
        finally:
            if state is not None:
                _restore(state)
