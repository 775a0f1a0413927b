"""Every benchmark, one command, contenders side by side: writes benchmarks/RESULTS.md and the chart
of sync ratios (benchmarks/sync_ratios.svg) that README shows.

    python benchmarks/run_all.py            # about 18 minutes on 2 cores
    python benchmarks/run_all.py --quick    # a few minutes: one trial, smaller sizes

Sections: sync (sync_bench.py: W&B's logger, ftsync same work, ftsync full, the bare W&B floor, at
0 and 150 ms per request; 200 jobs of 2,000 steps), memory (one job with a 500 MB training file),
datasets (datasets_bench.py: 200 MB chat validation against a cookbook-style reference, first
preview page of a 500 MB file), dashboard (dashboard_bench.py: Jobs with 1,000 jobs, Metrics with a
100,000-step job, the whole demo synced from the Jobs page), record (record_bench.py: 500 validation
examples at 300 ms per request, default concurrency against one at a time, then under an announced
rate limit), CLI start-up. Each target of issue #12 is checked against the figures measured in this run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import dashboard_bench as db  # noqa: E402
import record_bench as rb  # noqa: E402
import sync_bench as sb  # noqa: E402
from bench_env import clean_env  # noqa: E402


def memory_500mb(mb: int) -> dict:
    """Peak RSS of the process tree (wandb-core included) syncing one job whose training file is `mb` MB."""
    from ftsync.emulator import Emulator

    with Emulator("bench", jobs=1, steps=[200], file_bytes=mb * 10**6, files=1) as emu:
        with tempfile.TemporaryDirectory() as tmp:
            spec = {"base_url": emu.base_url, "key": emu.api_key, "job_ids": emu.workspace.job_ids(), "steps": [200]}
            m = sb.measure("full", spec, clean_env(tmp), 1, 200)
    return {"mb": mb, "wall": m.wall, "cpu": m.cpu, "peak_rss": m.peak_rss}


def startup(trials: int) -> dict:
    """Median wall time of small CLI commands in a fresh process, and of a bare interpreter (anchor)."""
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.jsonl"
        line = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n'
        small.write_text(line * 20)
        commands = {"python -c pass": [sys.executable, "-c", "pass"],
                    "ftsync validate (20 lines)": [sys.executable, "-m", "ftsync", "validate", str(small)],
                    "ftsync jobs --help": [sys.executable, "-m", "ftsync", "jobs", "--help"]}
        out = {}
        for name, cmd in commands.items():
            times = []
            for _ in range(trials):
                t = time.perf_counter()
                subprocess.run(cmd, env=clean_env(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                times.append(time.perf_counter() - t)
            out[name] = statistics.median(times)
    return out


def datasets(mb: float, preview_mb: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "datasets.json"
        subprocess.run([sys.executable, str(HERE / "datasets_bench.py"), "--mb", str(mb), "--preview-mb", str(preview_mb),
                        "--skip", "pandas", "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(results: dict) -> str:
    sync = results["sync"]
    lines = ["# Benchmarks\n",
             f"Measured {results['date']} by `python benchmarks/run_all.py{' --quick' if results['quick'] else ''}` "
             f"in {results['minutes']:.1f} minutes on: {results['machine']}.",
             "W&B offline; the emulator serves the same jobs to every contender; each sync figure is the median "
             f"of {sync[0]['trials']} runs with the contenders interleaved; RSS and CPU are those of each contender's "
             "whole process tree (wandb-core included).\n",
             "![sync ratios](sync_ratios.svg)\n", "## Sync\n"]
    for s in sync:
        lines += [f"### {s['name']}, {s['latency_ms']:.0f} ms per request ({s['rows']:,} rows)\n", sb.ratios_table(s), ""]
    lines.append("Contenders: `logger` is W&B's `WandbLogger.sync` in a loop over the job ids (datasets off, its W&B "
                 "look-ups stubbed to \"not found\"); `ftsync` is `ftsync sync --no-datasets --no-events` (the same work: "
                 "metrics, config, summary, model artifact, plus job_details); `full` is `ftsync sync` with everything "
                 "(datasets as artifacts and tables, events and checkpoints tables); `floor` is a bare script doing only "
                 "`wandb.init` + one `run.log` per row + `finish` per job.\n")
    lines += ["## Targets\n", "| target | measured | verdict |", "|---|---|---|"]
    by = {(s["name"], s["latency_ms"]): s["median"] for s in sync}
    lat = by.get(("25 mixed jobs", 150.0))
    zero = by.get(("25 mixed jobs", 0.0))
    if lat:
        r = lat["ftsync"]["wall"] / lat["logger"]["wall"]
        lines.append(f"| 150 ms per request: ftsync (same work) ≤ 0.3x the logger | {r:.2f}x | {verdict(r <= 0.3)} |")
    if zero:
        r = zero["ftsync"]["wall"] / zero["logger"]["wall"]
        lines.append(f"| no latency: ftsync (same work) ≤ 0.6x the logger | {r:.2f}x | {verdict(r <= 0.6)} |")
    big = next((s["median"] for s in sync if "2,000" in s["name"]), None)
    if big:
        f, fl = big["ftsync"], big["floor"]
        per_core = f["cpu"] / fl["cpu"]  # time x cores used is CPU time
        lines.append(f"| 2,000-step jobs: ftsync within 1.2x of the floor's time per core used | {per_core:.2f}x "
                     f"(wall {f['wall'] / fl['wall']:.2f}x) | {verdict(per_core <= 1.2)} |")
    mem = results["memory"]
    lines.append(f"| one job with a {mem['mb']} MB training file: peak RSS < 300 MB | {mem['peak_rss'] / 2**20:.0f} MB "
                 f"({mem['wall']:.1f} s) | {verdict(mem['peak_rss'] < 300 * 2**20)} |")
    ds = results.get("datasets")
    if ds:
        f, c = ds["full_pass"]["ftsync"], ds["full_pass"]["cookbook"]
        speed = c["seconds"] / f["seconds"]
        lines.append(f"| {ds['mb']:.0f} MB chat file, exact tokens: ≥ 3x the cookbook's speed | {speed:.2f}x "
                     f"({f['seconds']:.1f} s vs {c['seconds']:.1f} s; {f['peak_rss_mb']:.0f} vs {c['peak_rss_mb']:.0f} MB) "
                     f"| {verdict(speed >= 3)} |")
    dash = results.get("dashboard")
    if dash:
        jp, demo = dash["jobs_page"], dash["demo_sync"]
        lines.append(f"| Jobs page with {dash['jobs']:,} jobs: warm rerun < 0.2 s | {jp['warm']:.2f} s | "
                     f"{verdict(jp['warm'] < 0.2)} |")
        lines.append(f"| Jobs page with {dash['jobs']:,} jobs: first run < 2 s (no API latency) | {jp['first']:.2f} s | "
                     f"{verdict(jp['first'] < 2)} |")
        lines.append(f"| the whole demo synced from the Jobs page: server peak RSS < 1 GB (children included) | "
                     f"{demo['peak_rss'] / 2**20:.0f} MB ({demo['wall']:.1f} s) | {verdict(demo['peak_rss'] < 2**30)} |")
    rec = results.get("record")
    if rec:
        n, ms, c = rec["examples"], rec["latency_ms"], rec["default_concurrency"]
        lines.append(f"| record, {n} examples at {ms:.0f} ms per request: default concurrency ({c}) ≥ {rb.TARGET_RATIO:g}x "
                     f"one at a time | {rec['ratio']:.2f}x ({rec['speed'][str(c)]['ask_s']:.1f} s vs "
                     f"{rec['speed']['1']['ask_s']:.1f} s) | {verdict(rec['ratio'] >= rb.TARGET_RATIO)} |")
        pol = rec["politeness"]
        polite = pol["http_429"] == 0 and pol["answered"] == n
        lines.append(f"| record with {pol['rpm']} requests per minute announced: zero 429s, every example answered | "
                     f"{pol['http_429']} x 429, {pol['answered']}/{n} answered ({pol['ask_s']:.1f} s) | {verdict(polite)} |")
    st = results["startup"]
    v = st["ftsync validate (20 lines)"]
    lines.append(f"| `ftsync validate` on a small file < 0.8 s | {v:.2f} s (bare interpreter {st['python -c pass']:.2f} s) "
                 f"| {verdict(v < 0.8)} |")
    lines += ["", "## CLI start-up (median)\n", "| command | seconds |", "|---|---:|"]
    lines += [f"| `{k}` | {v:.2f} |" for k, v in st.items()]
    if ds:
        lines += ["", f"## Datasets ({ds['mb']:.0f} MB chat file)\n", "| contender | seconds | peak RSS MB | examples | tokens |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {k} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | {r['examples']:,} | {r.get('tokens', 0):,} |"
                  for k, r in ds["full_pass"].items()]
        lines += ["\nFirst preview page: " + ", ".join(f"{k} file {r['seconds'] * 1000:.0f} ms" for k, r in ds["preview"].items())]
    if dash:
        mp = dash["metrics_page"]
        lines += ["", "## Dashboard (AppTest, script time)\n", "| page | first run s | warm rerun s | chart payload |",
                  "|---|---:|---:|---:|",
                  f"| Jobs, {dash['jobs']:,} jobs | {jp['first']:.2f} | {jp['warm']:.2f} | {jp['chart_bytes'] / 1e3:,.0f} kB |",
                  f"| Metrics, one job of {dash['steps']:,} steps | {mp['first']:.2f} | {mp['warm']:.2f} | "
                  f"{mp['chart_bytes'] / 1e3:,.0f} kB |",
                  "", "First run: a new visitor's session opening the page (caches empty, modules already imported by "
                  "the server), the listing's round trips included (no API latency); warm: the best of three reruns. "
                  "Metrics' first run reads the job's 100,000 events and its result file."]
    if rec:
        d = rec["speed"][str(rec["default_concurrency"])]
        lines += ["", f"## Record ({rec['examples']} examples, {rec['latency_ms']:.0f} ms per request)\n", rb.table(rec), "",
                  "Each contender is a fresh process with a fresh ledger running `plan_record` then "
                  "`run_record(log_to_wandb=False)`; timed is the asking: every example's /chat/completions request "
                  f"and its answer written to the ledger (planning took {d['plan_s']:.1f} s before it; writing the W&B "
                  f"run {d.get('wandb_s', 0):.1f} s after it, not in the figures). The emulator counts on its side every "
                  "request it served and every 429 it answered (the SDK retries 429s). Speed: no limit set (the "
                  "emulator announces 10,000 requests per minute); at most as many requests overlap as the "
                  f"concurrency, so {rec['ideal_ratio']:.0f}x is the default's ceiling. Rate limit: the default "
                  f"concurrency with {rec['politeness']['rpm']} requests per minute announced, which it would pass "
                  f"within a minute; no less than {rec['politeness']['floor_s']:.0f} s is possible under that limit."]
    lines += ["", "## Where a target is missed\n", results.get("missed_note", "").strip() or "(see the notes in the issue)"]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--notes", type=Path, help="a Markdown file explaining missed targets, put into RESULTS.md")
    p.add_argument("--big-jobs", type=int, default=200, help="jobs of 2,000 steps in the large sync scenario")
    p.add_argument("--report-only", action="store_true", help="write RESULTS.md again from results.json (no runs)")
    args = p.parse_args()
    if args.report_only:
        results = json.loads((HERE / "results.json").read_text())
        if args.notes and args.notes.exists():
            results["missed_note"] = args.notes.read_text()
        (HERE / "RESULTS.md").write_text(report(results))
        return
    started = time.perf_counter()
    trials = 1 if args.quick else 3
    big = 20 if args.quick else args.big_jobs
    sync = [sb.scenario("25 mixed jobs", 25, sb.MIXED_STEPS, 0.0, trials, sb.CONTENDERS),
            sb.scenario("25 mixed jobs", 25, sb.MIXED_STEPS, 0.15, trials, sb.CONTENDERS),
            sb.scenario(f"{big} x 2,000 steps", big, (2000,), 0.0, 1, ("logger", "ftsync", "floor"))]
    results = {"dashboard": db.run(100 if args.quick else 1000, 10_000 if args.quick else 100_000, 1 if args.quick else 3),"sync": sync, "memory": memory_500mb(100 if args.quick else 500), "startup": startup(3 if args.quick else 5),
               "datasets": datasets(20 if args.quick else 200, 50 if args.quick else 500),
               "record": rb.run(100 if args.quick else 500, 0.3, 60 if args.quick else 300), "quick": args.quick,
               "machine": sb.machine(), "date": datetime.date.today().isoformat()}
    results["minutes"] = (time.perf_counter() - started) / 60
    if args.notes and args.notes.exists():
        results["missed_note"] = args.notes.read_text()
    (HERE / "results.json").write_text(json.dumps(results, indent=2))
    (HERE / "sync_ratios.svg").write_text(sb.chart_svg(sync))
    (HERE / "RESULTS.md").write_text(report(results))
    print((HERE / "RESULTS.md").read_text())


if __name__ == "__main__":
    main()
