"""`ftsync emulator`: serve the OpenAI-compatible fine-tuning API locally."""

from __future__ import annotations

import argparse
import sys

from ..exits import EXIT_OK, EXIT_USAGE
from .common import non_negative_number, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emulator",
        help="serve an OpenAI-compatible fine-tuning API locally (demo, tests, benchmarks)",
        description="Serve an OpenAI-compatible fine-tuning API on this machine. The first line printed "
                    "is the base URL for OpenAI(base_url=...).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--api-key", default=None, help="the only key accepted (default: sk-emulator)")
    p.add_argument("--workspace", choices=["demo", "bench", "empty"], default="demo")
    p.add_argument("--mode", choices=["realistic", "spec"], default="realistic",
                   help="realistic: the real API's quirks; spec: every response validates against the OpenAPI spec")
    p.add_argument("--faults", action="append", default=[], metavar="RULES",
                   help="fault rules, e.g. 'jobs.list:429:times=1;files.content:drop' (see ftsync.emulator.faults)")
    p.add_argument("--seed", type=int, default=0, help="seed for ids and fault decisions")
    p.add_argument("--speed", type=float, default=1.0, help="how many times faster than real time jobs run")
    p.add_argument("--result-encoding", choices=["base64", "plain"], default="base64",
                   help="result files as today's API sends them (base64) or as older jobs did (plain CSV)")
    p.add_argument("--verbose", action="store_true", help="log each request line to stderr")
    p.add_argument("--latency", type=non_negative_number, default=0.0, metavar="SECONDS",
                   help="added to every request, as a real API's round trip (default 0)")
    p.add_argument("--webhook-url", default=None, metavar="URL",
                   help="POST signed fine-tuning webhooks here when jobs end (secret: $OPENAI_WEBHOOK_SECRET, whsec_…)")
    p.add_argument("--chat-rpm", type=positive_int, default=None, metavar="N",
                   help="/chat/completions requests per minute before a 429 (default: no limit)")
    bench = p.add_argument_group("bench workspace")
    bench.add_argument("--jobs", type=int, default=100)
    bench.add_argument("--steps", type=int, default=200, help="training steps per job")
    bench.add_argument("--examples", type=int, default=100, help="examples per training file")
    bench.add_argument("--file-bytes", type=int, default=None, help="bytes per training file (overrides --examples)")
    bench.add_argument("--files", type=int, default=None, help="distinct training files shared by the jobs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from ..emulator import DEFAULT_API_KEY, Emulator, FaultSpecError

    options = {}
    if args.webhook_url:
        options["webhook_url"] = args.webhook_url
        options["webhook_secret"] = os.environ.get("OPENAI_WEBHOOK_SECRET", "").strip()
    if args.workspace == "bench":
        options = {"jobs": args.jobs, "steps": args.steps, "examples": args.examples,
                   "file_bytes": args.file_bytes, "files": args.files}
    try:
        emu = Emulator(args.workspace, host=args.host, port=args.port, api_key=args.api_key or DEFAULT_API_KEY,
                       mode=args.mode, faults=args.faults, seed=args.seed, speed=args.speed,
                       result_encoding=args.result_encoding, verbose=args.verbose,
                       latency=args.latency, chat_rpm=args.chat_rpm, **options)
        emu.bind()
    except (ValueError, FaultSpecError, OSError) as exc:
        print(f"ftsync emulator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(emu.base_url, flush=True)
    ws = emu.workspace
    key_note = "the key given with --api-key" if args.api_key else DEFAULT_API_KEY
    print(f"workspace {args.workspace}: {len(ws.jobs)} jobs, {len(ws.files)} files; mode {args.mode}; "
          f"api key: {key_note}; Azure endpoint: {emu.azure_endpoint}; Ctrl+C to stop", flush=True)
    if emu.webhooks is not None:
        print(f"webhooks: to {emu.webhooks.url} as jobs end", flush=True)
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return EXIT_OK
