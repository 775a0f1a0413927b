"""A W&B-compatible test backend (a real HTTP server) for testing wandb's online mode offline."""

from .server import WandbBackend
from .state import ArtifactRecord, RequestRecord, RunRecord

__all__ = ["ArtifactRecord", "RequestRecord", "RunRecord", "WandbBackend"]
