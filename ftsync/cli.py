"""The `ftsync` command line. Each subcommand parses its options and calls the engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .commands import emulator, jobs, sync, validate
from .exits import EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftsync", description="Sync OpenAI fine-tuning jobs into Weights & Biases.")
    parser.add_argument("--version", action="version", version=f"ftsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (sync, jobs, validate, emulator):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
