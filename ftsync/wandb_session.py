"""Keeping wandb's process-wide state safe for several runs at once: its credentials untouched while
ftsync uses explicit ones, and its artifact caches safe from threads.

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


_caches_lock = threading.RLock()


def thread_safe_artifact_caches() -> None:
    """wandb keeps every Artifact made in the process in two module-level CappedDicts of 100 entries
    (`wandb.sdk.artifacts.artifact_instance_cache`), pruned with `del` and no lock: two threads making
    artifacts at once past 100 both delete the oldest key, and one of them raises KeyError(<the
    artifact's client id>) from `wandb.Artifact(...)` or `run.log(table)`. That failed one job in 33
    when the dashboard synced a whole account. The class's insert and prune run under one lock here,
    and a key already gone is skipped; idempotent. Holds no user data."""
    try:
        from wandb.sdk.lib.capped_dict import CappedDict
    except ImportError:  # a wandb without it has nothing to mend
        return
    if getattr(CappedDict, "_ftsync_thread_safe", False):
        return
    insert = CappedDict.__setitem__

    def __setitem__(self: Any, key: str, val: Any) -> None:
        with _caches_lock:
            insert(self, key, val)

    def _prune_dict(self: Any, max_size: int) -> None:
        with _caches_lock:
            for key in list(self.keys())[: max(0, len(self) - max_size)]:
                self.pop(key, None)

    CappedDict.__setitem__ = __setitem__  # type: ignore[method-assign]
    CappedDict._prune_dict = _prune_dict  # type: ignore[method-assign]
    CappedDict._ftsync_thread_safe = True  # type: ignore[attr-defined]
