"""ftsync: sync OpenAI fine-tuning jobs into Weights & Biases.

    from ftsync import WandbLogger
    WandbLogger.sync(openai_client=client)
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["WandbLogger", "SyncOptions", "SyncReport", "sync_jobs", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy: importing wandb takes a second; the CLI's emulator and validate commands never need it.
    if name == "WandbLogger":
        from .logger import WandbLogger

        return WandbLogger
    if name in ("SyncOptions", "SyncReport", "sync_jobs"):
        from . import sync

        return getattr(sync, name)
    raise AttributeError(f"module 'ftsync' has no attribute {name!r}")
