"""The `ftsync` command line. Each subcommand parses its options and calls the engine."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .exits import EXIT_USAGE

COMMANDS = ("sync", "watch", "jobs", "record", "validate", "emulator")  # modules of ftsync.commands, in --help order


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (exit 2) instead of the usage block and the error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _commands_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command modules to import: only the one named on the command line, else all of them
    (for --help or a mistake). `sync` and `jobs` import openai (~35 MB); `validate` never needs it."""
    if argv is None:
        return COMMANDS
    named = next((a for a in argv if not a.startswith("-")), None)
    return (named,) if named in COMMANDS else COMMANDS


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line, with only the subcommand it names."""
    parser = Parser(prog="ftsync", description="Sync OpenAI fine-tuning jobs into Weights & Biases.")
    parser.add_argument("--version", action="version", version=f"ftsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _commands_for(argv):
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already said in one line
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    # a log handler that cannot write (wandb's debug log on a full disk) must not print a traceback
    # per message: the failure itself is reported once, per job
    logging.raiseExceptions = False
    try:
        return int(args.func(args))
    except Exception as exc:
        from .errors import ConfigError  # here, not above: `validate` starts without the SDKs

        if not isinstance(exc, ConfigError):
            raise
        # a setting a command read before its own handling (e.g. a malformed URL): one line
        print(f"ftsync {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
