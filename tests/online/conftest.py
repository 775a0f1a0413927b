"""Online W&B: ftsync against the W&B-compatible test backend (a real HTTP server on loopback)."""

from __future__ import annotations

import pytest

from ..wandb_backend import WandbBackend

KEY = "f7" * 20  # W&B keys are 40 characters
OTHER_KEY = "e8" * 20
ENTITY = "ft-team"
PROJECT = "OpenAI-Fine-Tune"

# wandb-core retries a failed call 20 times, up to 60 s apart: tests must fail fast instead.
# Retry waits are whole seconds and 0 means "default", so 1 is the floor (see tests/test_wandb_backend.py).
FAST_ENV = {
    "WANDB_INIT_TIMEOUT": "15", "WANDB_FINISH_TIMEOUT": "15",
    "WANDB__GRAPHQL_RETRY_MAX": "1", "WANDB__GRAPHQL_RETRY_WAIT_MIN_SECONDS": "1",
    "WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS": "1", "WANDB__GRAPHQL_TIMEOUT_SECONDS": "10",
    "WANDB__FILE_STREAM_RETRY_MAX": "1", "WANDB__FILE_STREAM_RETRY_WAIT_MIN_SECONDS": "1",
    "WANDB__FILE_STREAM_RETRY_WAIT_MAX_SECONDS": "1", "WANDB__FILE_STREAM_TIMEOUT_SECONDS": "10",
    "WANDB__FILE_TRANSFER_RETRY_MAX": "1", "WANDB__FILE_TRANSFER_RETRY_WAIT_MIN_SECONDS": "1",
    "WANDB__FILE_TRANSFER_RETRY_WAIT_MAX_SECONDS": "1", "WANDB__FILE_TRANSFER_TIMEOUT_SECONDS": "10",
}


@pytest.fixture
def online_env(sync_env, monkeypatch):
    """sync_env, online: no ambient W&B mode, fast-failing wandb; keys come per test."""
    for var in ("WANDB_MODE", "WANDB_RUN_ID", "WANDB_RESUME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in FAST_ENV.items():
        monkeypatch.setenv(var, value)
    return sync_env


@pytest.fixture
def backend():
    with WandbBackend(api_keys={KEY: ENTITY, OTHER_KEY: "other-team"}) as b:
        yield b
