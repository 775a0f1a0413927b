"""Options several commands share: where OpenAI and W&B are, read from flags then environment."""

from __future__ import annotations

import argparse
import math
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


def positive_number(text: str) -> float:
    """An argparse type: a finite number above 0 (nan, inf, -1 and 1e300 seconds are mistakes)."""
    return _seconds(text, allow_zero=False)


def non_negative_number(text: str) -> float:
    """An argparse type: as positive_number, 0 included."""
    return _seconds(text, allow_zero=True)


def _seconds(text: str, *, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    low_ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not low_ok or value > 10 * 365 * 24 * 3600:
        least = "0 or more" if allow_zero else "above 0"
        raise argparse.ArgumentTypeError(f"must be a number of seconds {least} and at most 10 years, not {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    return 0 if text.strip() == "0" else positive_int(text)


def job_id(text: str) -> str:
    """An argparse type: an OpenAI fine-tuning job id (checked before it reaches a path or W&B)."""
    from ..ids import valid_job_id

    if not valid_job_id(text.strip()):
        raise argparse.ArgumentTypeError(f"not a fine-tuning job id (ftjob-…): {text[:60]!r}")
    return text.strip()


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {text}")
    return value
