"""Options several commands share: where OpenAI and W&B are, read from flags then environment."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..settings import OpenAISettings, WandbSettings


def add_connection_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection (keys come only from the environment: OPENAI_API_KEY, "
                             "AZURE_OPENAI_API_KEY, WANDB_API_KEY)")
    g.add_argument("--base-url", help="OpenAI base URL (default: $OPENAI_BASE_URL or api.openai.com)")
    g.add_argument("--azure-endpoint", help="Azure OpenAI endpoint (default: $AZURE_OPENAI_ENDPOINT)")
    g.add_argument("--project", help="W&B project (default: OpenAI-Fine-Tune)")
    g.add_argument("--entity", help="W&B entity (default: your default entity)")
    g.add_argument("--offline", action="store_true", help="write W&B runs offline, to upload later with `wandb sync`")
    g.add_argument("--wandb-dir", type=Path, help="where offline runs go (default: $WANDB_DIR or here)")


def openai_settings(args: argparse.Namespace) -> OpenAISettings:
    return OpenAISettings.from_env(base_url=args.base_url, azure_endpoint=args.azure_endpoint)


def wandb_settings(args: argparse.Namespace) -> WandbSettings:
    return WandbSettings.from_env(project=args.project, entity=args.entity,
                                  mode="offline" if args.offline else None, dir=args.wandb_dir)
