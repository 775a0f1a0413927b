"""What every benchmark's child process runs in: no keys or W&B settings of the caller's, W&B offline,
all state under one temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clean_env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "OPENAI_"))}
    env.update(PYTHONPATH=str(ROOT), WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=tmp,
               FTSYNC_HOME=f"{tmp}/home", WANDB_DATA_DIR=f"{tmp}/d", WANDB_CACHE_DIR=f"{tmp}/c",
               WANDB_CONFIG_DIR=f"{tmp}/cf", NETRC=f"{tmp}/no-netrc")
    return env
