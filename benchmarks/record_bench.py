"""`ftsync record` asking speed: default concurrency against one request at a time, and pacing under
an announced rate limit.

One emulated job whose validation file has `--examples` chat examples (the bench workspace's
validation file is a tenth of its training file), every request made `--latency` slower by the
emulator. Each contender is a fresh process with a fresh FTSYNC_HOME (answers are resumable from the
ledger: a shared home would skip work) running the record engine itself: `plan_record` (reads the
job and its file, counts tokens; timed apart) then `run_record(log_to_wandb=False)`, which is what is
timed: every example asked and its answer written to the ledger, the W&B write left out (its time is
measured once, after the default contender, by a second `run_record` that has nothing left to ask).

  speed       no limit set: the emulator still announces its default 10,000 requests per minute, so
              nothing paces the run; `concurrency` DEFAULT_CONCURRENCY against 1 (and, for
              comparison, the extra --concurrency values). Target: default >= 10x one at a time.
  politeness  the emulator announces --rpm requests per minute (x-ratelimit-* headers) and answers
              429 past it; the default contender would exceed it within a minute, so it must wait for
              the window instead. Target: zero 429s served and every example answered.

The emulator runs in this process and counts, on the server side, every /chat/completions request it
served and every 429 it answered (the SDK retries 429s, so the client's outcome would not show them).

    python benchmarks/record_bench.py                        # 500 examples at 300 ms, rpm 300 (about 4 min)
    python benchmarks/record_bench.py --examples 100 --rpm 60  # about 2 min
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without installing
sys.path.insert(0, str(HERE))

from bench_env import clean_env  # noqa: E402

TARGET_RATIO = 10.0


# ---- the contender (run in a child process) ------------------------------------------------------

def child(spec_path: str, out_path: str) -> None:
    from ftsync.record.runner import RecordOptions, plan_record, run_record
    from ftsync.settings import OpenAISettings

    spec = json.loads(Path(spec_path).read_text())
    options = RecordOptions(openai=OpenAISettings(api_key=spec["key"], base_url=spec["base_url"]),
                            examples=spec["examples"], concurrency=spec["concurrency"], home=Path(spec["home"]),
                            log_to_wandb=False)
    t = time.perf_counter()
    estimate = plan_record(options)
    plan_s = time.perf_counter() - t
    t = time.perf_counter()
    report = run_record(options, estimate)
    ask_s = time.perf_counter() - t
    out = {"plan_s": plan_s, "ask_s": ask_s, "usd": estimate.total,
           "examples": sum(len(task.examples) for task in estimate.tasks),
           "answered": sum(o.answered for o in report.outcomes), "asked": sum(o.asked for o in report.outcomes),
           "failed": sum(o.failed for o in report.outcomes), "gone": [o.gone for o in report.outcomes if o.gone]}
    if spec.get("wandb"):  # every answer is in the ledger now: this run only writes the W&B run
        options.log_to_wandb = True
        again = plan_record(options)
        t = time.perf_counter()
        written = run_record(options, again)
        out["wandb_s"] = time.perf_counter() - t
        out["wandb"] = [where for _, where in written.wandb]
        out["asked_again"] = sum(o.asked for o in written.outcomes)
    Path(out_path).write_text(json.dumps(out))


# ---- the emulator side -------------------------------------------------------------------------

class ChatCounter:
    """Counts what the emulator's /chat/completions served: answers (with their times) and 429s."""

    def __init__(self, api) -> None:
        from ftsync.emulator.api import ApiError

        self.lock = threading.Lock()
        self.reset()
        original = api._rate_limit

        def counted() -> dict[str, str]:
            try:
                headers = original()
            except ApiError as exc:
                if exc.status == 429:
                    with self.lock:
                        self.limited_at.append(time.monotonic())
                raise
            with self.lock:
                self.times.append(time.monotonic())
            return headers

        api._rate_limit = counted  # the benchmark's own server: every chat request passes here

    def reset(self) -> None:
        with self.lock:
            self.times: list[float] = []
            self.limited_at: list[float] = []

    @property
    def limited(self) -> int:
        return len(self.limited_at)

    def limited_offsets(self) -> list[float]:
        """When each 429 was served, in seconds after the first answer."""
        with self.lock:
            start = min(self.times, default=0.0)
            return [round(t - start, 2) for t in self.limited_at]

    def longest_gap(self) -> float:
        """The longest pause between two answers served (the wait for the rate-limit window)."""
        with self.lock:
            t = sorted(self.times)
        return max((b - a for a, b in zip(t, t[1:])), default=0.0)


def contender(emu, counter: ChatCounter, examples: int, concurrency: int, wandb: bool = False) -> dict:
    """One fresh process recording the job's `examples` examples `concurrency` at a time, and what the
    emulator served it."""
    counter.reset()
    with tempfile.TemporaryDirectory() as tmp:
        spec, out = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec.write_text(json.dumps({"base_url": emu.base_url, "key": emu.api_key, "examples": examples,
                                    "concurrency": concurrency, "home": f"{tmp}/home", "wandb": wandb}))
        proc = subprocess.run([sys.executable, __file__, "--child", str(spec), str(out)], env=clean_env(tmp),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"record contender (concurrency {concurrency}) failed ({proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        result = json.loads(out.read_text())
    result.update(concurrency=concurrency, served=len(counter.times), http_429=counter.limited,
                  http_429_at_s=counter.limited_offsets(), longest_gap_s=counter.longest_gap(),
                  requests_per_s=result["asked"] / result["ask_s"])
    if result["examples"] != examples or result["answered"] != examples or result["failed"] or result["gone"]:
        raise RuntimeError(f"concurrency {concurrency}: {result['answered']} of {result['examples']} examples "
                           f"answered (asked for {examples}), {result['failed']} failed, gone {result['gone']}")
    return result


def _line(label: str, r: dict) -> None:
    print(f"  record {label}: concurrency {r['concurrency']:2d} {r['ask_s']:7.2f} s asking "
          f"({r['requests_per_s']:5.1f} req/s), {r['served']} served, {r['http_429']} x 429, "
          f"longest pause {r['longest_gap_s']:.1f} s", file=sys.stderr, flush=True)


def run(examples: int = 500, latency: float = 0.3, rpm: int = 300, extra: tuple[int, ...] = (16,)) -> dict:
    """Both measurements; the dict run_all.py stores under "record"."""
    from ftsync.emulator import Emulator
    from ftsync.record.runner import DEFAULT_CONCURRENCY

    lines = examples * 10  # the bench validation file: max(10, lines // 10) examples
    if examples < 10:
        raise ValueError("the bench workspace's validation file has at least 10 examples")
    speed: dict[str, dict] = {}
    with Emulator("bench", jobs=1, steps=[200], examples=lines, files=1, latency=latency) as emu:
        counter = ChatCounter(emu.api)
        for c in (DEFAULT_CONCURRENCY, 1, *[c for c in extra if c not in (1, DEFAULT_CONCURRENCY)]):
            speed[str(c)] = contender(emu, counter, examples, c, wandb=c == DEFAULT_CONCURRENCY)
            _line("speed", speed[str(c)])
    default, serial = speed[str(DEFAULT_CONCURRENCY)], speed["1"]
    with Emulator("bench", jobs=1, steps=[200], examples=lines, files=1, latency=latency, chat_rpm=rpm) as emu:
        counter = ChatCounter(emu.api)
        polite = contender(emu, counter, examples, DEFAULT_CONCURRENCY)
        _line(f"{rpm} rpm", polite)
    # with `rpm` per sliding minute, the last of the examples cannot be asked before this
    floor = 60.0 * ((examples - 1) // rpm) if rpm else 0.0
    return {"examples": examples, "latency_ms": latency * 1000, "default_concurrency": DEFAULT_CONCURRENCY,
            "speed": speed, "ratio": serial["ask_s"] / default["ask_s"],
            "ideal_ratio": float(DEFAULT_CONCURRENCY),  # at most this many requests overlap
            "politeness": polite | {"rpm": rpm, "floor_s": floor}}


def table(r: dict) -> str:
    """The Markdown table of RESULTS.md's record section."""
    rows = ["| contender | asking s | req/s | vs one at a time | served | 429s |", "|---|---:|---:|---:|---:|---:|"]
    serial = r["speed"]["1"]["ask_s"]
    for c, m in sorted(r["speed"].items(), key=lambda kv: int(kv[0])):
        name = f"concurrency {c}" + (" (default)" if int(c) == r["default_concurrency"] else "")
        rows.append(f"| {name} | {m['ask_s']:.1f} | {m['requests_per_s']:.1f} | {serial / m['ask_s']:.2f}x | "
                    f"{m['served']} | {m['http_429']} |")
    p = r["politeness"]
    rows.append(f"| concurrency {r['default_concurrency']}, {p['rpm']} rpm announced | {p['ask_s']:.1f} | "
                f"{p['requests_per_s']:.1f} | | {p['served']} | {p['http_429']} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=500)
    p.add_argument("--latency", type=float, default=0.3, help="seconds the emulator adds to every request")
    p.add_argument("--rpm", type=int, default=300, help="requests per minute announced in the politeness run")
    p.add_argument("--concurrency", type=int, action="append", default=None,
                   help="extra concurrency to measure for comparison (repeatable; default 16)")
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    r = run(args.examples, args.latency, args.rpm, tuple(args.concurrency or (16,)))
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    d, pol = r["speed"][str(r["default_concurrency"])], r["politeness"]
    print(f"record, {r['examples']} examples at {r['latency_ms']:.0f} ms per request; timed: run_record asking "
          f"every example and writing its answer to the ledger (W&B write not timed: {d.get('wandb_s', 0):.1f} s "
          f"after, separately; planning {d['plan_s']:.1f} s before)\n")
    print(table(r))
    print(f"\ndefault concurrency ({r['default_concurrency']}) vs one at a time: {r['ratio']:.2f}x "
          f"(target >= {TARGET_RATIO:g}x: {'met' if r['ratio'] >= TARGET_RATIO else 'MISSED'}; "
          f"{r['default_concurrency']} requests overlap at most, so {r['ideal_ratio']:.0f}x is the ceiling)")
    ok = pol["http_429"] == 0 and pol["answered"] == r["examples"]
    print(f"{pol['rpm']} rpm announced: {pol['http_429']} x 429 served, {pol['answered']}/{r['examples']} answered, "
          f"{pol['ask_s']:.1f} s (the limit allows no less than {pol['floor_s']:.0f} s; longest pause "
          f"{pol['longest_gap_s']:.1f} s) ({'met' if ok else 'MISSED'})")
    if pol["http_429_at_s"]:
        print(f"  429s served at {', '.join(f'{t:.2f}' for t in pol['http_429_at_s'])} s after the first answer")


if __name__ == "__main__":
    main()
