"""`ftsync watch`: sync what is new or changed, wait, repeat; optionally woken by OpenAI webhooks."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ..exits import EXIT_USAGE
from .common import port_number, positive_int, positive_number
from .sync import add_sync_options, sync_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="keep W&B in step by itself: sync, wait, repeat (and on webhooks)",
                       description="Sync what is new or changed, wait --interval seconds, repeat: running jobs are "
                                   "synced live each cycle and finished ones once. With --webhook-port, OpenAI's "
                                   "fine-tuning webhooks (verified with OPENAI_WEBHOOK_SECRET) sync their job at once. "
                                   "SIGINT/SIGTERM finish the jobs being written and exit 0. One watcher per W&B "
                                   "project: a second one exits (code 3).")
    p.add_argument("--interval", type=positive_number, default=60.0, help="seconds between polls (default: 60)")
    p.add_argument("--max-backoff", type=positive_number, default=900.0,
                   help="the longest wait between polls after API errors (default: 900)")
    p.add_argument("--auth-grace", type=positive_number, default=600.0, metavar="SECONDS",
                   help="a rejected key is retried with the backoff; the watcher stops (exit 2) once OpenAI has "
                        "rejected it for this long and at least 5 cycles in a row (default: 600)")
    p.add_argument("-n", "--n_fine_tunes", "--n-fine-tunes", type=positive_int, dest="limit", metavar="N",
                   help="only the N most recent jobs each cycle")
    p.add_argument("--webhook-port", type=port_number, default=None, metavar="PORT",
                   help="also receive OpenAI webhooks on this port (secret: $OPENAI_WEBHOOK_SECRET)")
    p.add_argument("--webhook-host", default="127.0.0.1",
                   help="address the webhook receiver listens on (default: 127.0.0.1; behind a proxy, or 0.0.0.0)")
    add_sync_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import FtsyncError
    from ..watch import Watcher, WatchOptions

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        secret = None
        if args.webhook_port is not None:
            from ..webhooks import check_secret

            secret = check_secret(os.environ.get("OPENAI_WEBHOOK_SECRET"))
        options = WatchOptions(sync_options(args, limit=args.limit, action="watch"), interval=args.interval,
                               max_backoff=args.max_backoff, webhook_port=args.webhook_port,
                               webhook_host=args.webhook_host, webhook_secret=secret, auth_grace=args.auth_grace)
    except FtsyncError as exc:
        print(f"ftsync watch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    watcher = Watcher(options, say=say, complain=lambda line: print(line, file=sys.stderr, flush=True))

    def stop(signum: int, _frame: object) -> None:
        if watcher.signalled is not None:  # the second one: stop at once (the next sync cleans up)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        watcher.stop_from_signal(signum)
        # os.write, not print: the signal may land inside a print of the main thread
        os.write(2, f"ftsync watch: {signal.Signals(signum).name} received; finishing the jobs being written "
                    "(send it again to stop at once)\n".encode())

    before = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return watcher.run()
    finally:  # called in-process (tests, a script), the caller's handlers come back
        for sig, handler in before.items():
            signal.signal(sig, handler)
