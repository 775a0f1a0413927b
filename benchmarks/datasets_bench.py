"""Benchmark dataset inspection on a large generated chat file (a script, not a test).

    python benchmarks/datasets_bench.py [--mb 200] [--preview-mb 500] [--dir DIR]

Contenders, each in its own subprocess so peak memory (ru_maxrss) is its own:
  ftsync     ftsync.datasets.inspect(): streaming validation + exact token statistics
  cookbook   OpenAI's cookbook approach: load every line with json.loads into a list, its format
             checks, then num_tokens_from_messages per example with the same encoder
  pandas     pandas.read_json(lines=True): loading only, no validation, no tokens
Then the first preview page, table_frame(limit=50), timed on a --preview-mb file and a small one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---- contenders (run in a child process) ------------------------------------------------------------

def run_ftsync(path: str) -> dict:
    from ftsync.datasets import get_encoder, inspect

    get_encoder("o200k_base")  # load outside the timing, as for the cookbook
    base = _rss_mb()
    t = time.perf_counter()
    report = inspect(path, model="gpt-4o-mini")
    secs = time.perf_counter() - t
    return {"seconds": secs, "base_rss_mb": base, "examples": report.examples, "tokens": report.tokens["total"],
            "assistant_tokens": report.tokens["assistant"], "findings": sum(report.counts.values()),
            "backend": report.tokens["backend"]}


def run_cookbook(path: str) -> dict:
    from collections import defaultdict

    from ftsync.datasets import get_encoder

    enc = get_encoder("o200k_base")
    base = _rss_mb()
    t = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]
    format_errors: dict[str, int] = defaultdict(int)
    for ex in dataset:  # the notebook's seven checks
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1

    def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
        n = 0
        for message in messages:
            n += tokens_per_message
            for key, value in message.items():
                if isinstance(value, str):
                    n += len(enc.encode(value))
                if key == "name":
                    n += tokens_per_name
        return n + 3

    def num_assistant_tokens_from_messages(messages):
        return sum(len(enc.encode(m["content"])) for m in messages if m["role"] == "assistant")

    convo_lens, assistant_lens = [], []
    for ex in dataset:
        convo_lens.append(num_tokens_from_messages(ex["messages"]))
        assistant_lens.append(num_assistant_tokens_from_messages(ex["messages"]))
    secs = time.perf_counter() - t
    return {"seconds": secs, "base_rss_mb": base, "examples": len(dataset), "tokens": sum(convo_lens),
            "assistant_tokens": sum(assistant_lens), "findings": sum(format_errors.values()), "backend": enc.backend}


def run_pandas(path: str) -> dict:
    import pandas as pd

    base = _rss_mb()
    t = time.perf_counter()
    df = pd.read_json(path, lines=True)
    secs = time.perf_counter() - t
    return {"seconds": secs, "base_rss_mb": base, "examples": len(df)}


def run_preview(path: str) -> dict:
    from ftsync.datasets import table_frame

    import pandas  # noqa: F401 - imported before timing, as in a running UI

    t = time.perf_counter()
    df = table_frame(path, limit=50)
    secs = time.perf_counter() - t
    return {"seconds": secs, "rows": len(df), "base_rss_mb": 0.0}


WORKERS = {"ftsync": run_ftsync, "cookbook": run_cookbook, "pandas": run_pandas, "preview": run_preview}


def child(name: str, path: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, path], capture_output=True, text=True,
                         check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- driver ---------------------------------------------------------------------------------------

def generate(path: Path, mb: float) -> int:
    from ftsync.emulator.datagen import FixedLineFile

    f = FixedLineFile(seed=0, n_lines=max(1, int(mb * 1_000_000 / 512)), line_bytes=512)
    if not path.exists() or path.stat().st_size != f.size:
        with open(path, "wb") as out:
            for chunk in f.chunks(chunk_lines=8192):
                out.write(chunk)
    return f.size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=200, help="size of the validated file (default 200 MB)")
    ap.add_argument("--preview-mb", type=float, default=500, help="size of the file whose first page is timed")
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temporary directory)")
    ap.add_argument("--skip", action="append", default=[], choices=list(WORKERS), help="skip a contender")
    ap.add_argument("--worker", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write the figures here (for benchmarks/run_all.py)")
    args = ap.parse_args()
    if args.worker:
        name, path = args.worker
        result = WORKERS[name](path)
        result["peak_rss_mb"] = _rss_mb()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        big = Path(tmp) / f"chat_{args.mb:g}mb.jsonl"
        t = time.perf_counter()
        size = generate(big, args.mb)
        print(f"generated {big.name}: {size / 1e6:,.1f} MB, {size // 512:,} examples in {time.perf_counter() - t:.1f}s")
        results = {}
        for name in ("ftsync", "cookbook", "pandas"):
            if name in args.skip:
                continue
            results[name] = r = child(name, str(big))
            print(f"  {name:<9} done in {r['seconds']:.1f}s", flush=True)
        print(f"\nfull pass over {size / 1e6:,.0f} MB (peak RSS includes ~{results.get('ftsync', {}).get('base_rss_mb', 0):.0f} MB "
              f"of interpreter + encoder before reading):")
        print(f"  {'contender':<10} {'seconds':>8} {'MB/s':>7} {'vs ftsync':>10} {'peak RSS MB':>12} {'examples':>10} {'tokens':>14}")
        ref = results.get("ftsync", {}).get("seconds")
        for name, r in results.items():
            ratio = f"{r['seconds'] / ref:.2f}x" if ref else "-"
            print(f"  {name:<10} {r['seconds']:>8.2f} {size / 1e6 / r['seconds']:>7.1f} {ratio:>10} "
                  f"{r['peak_rss_mb']:>12.0f} {r['examples']:>10,} {r.get('tokens', 0):>14,}")
        if "ftsync" in results and "cookbook" in results:
            same = (results["ftsync"]["tokens"], results["ftsync"]["assistant_tokens"]) == \
                   (results["cookbook"]["tokens"], results["cookbook"]["assistant_tokens"])
            print(f"  token totals identical to the cookbook's: {same} (backend {results['ftsync']['backend']})")
        out = {"mb": size / 1e6, "full_pass": results, "preview": {}}
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
        if "preview" in args.skip:
            return
        small = Path(tmp) / "chat_small.jsonl"
        generate(small, 0.1)
        preview = Path(tmp) / f"chat_{args.preview_mb:g}mb.jsonl"
        psize = size if args.preview_mb == args.mb else generate(preview, args.preview_mb)
        ppath = big if args.preview_mb == args.mb else preview
        print("\nfirst preview page, table_frame(limit=50), fresh process, imports excluded:")
        for label, path, n in (("0.1 MB", small, small.stat().st_size), (f"{psize / 1e6:,.0f} MB", ppath, psize)):
            r = min((child("preview", str(path)) for _ in range(3)), key=lambda r: r["seconds"])
            print(f"  {label:>8} file: {r['seconds'] * 1000:7.1f} ms for {r['rows']} rows (best of 3)")
            out["preview"][label] = r
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
