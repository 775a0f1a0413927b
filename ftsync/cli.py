"""The `ftsync` command line. Each subcommand parses its options and calls the engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .commands import emulator, jobs, sync, validate
from .exits import EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (exit 2) instead of the usage block and the error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ftsync", description="Sync OpenAI fine-tuning jobs into Weights & Biases.")
    parser.add_argument("--version", action="version", version=f"ftsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (sync, jobs, validate, emulator):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already said in one line
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
