"""Sync speed, side by side in one run: W&B's own logger, ftsync, and the bare W&B floor.

Contenders, each in a fresh process over the same emulated jobs (W&B offline, a fresh WANDB_DIR):
  logger     wandb's `WandbLogger.sync` in a loop over the job ids, datasets off (offline it cannot
             log them), its W&B look-ups stubbed to "not found" (offline there is no W&B to ask)
  ftsync     `ftsync sync --no-datasets --no-events`: the logger's work (metrics, config, summary,
             the model artifact) plus job_details
  full       `ftsync sync` with everything: the above plus datasets as artifacts and tables
  floor      a bare script: per job `wandb.init` + one `run.log` per row + `finish`, no API at all
Each figure is the median of --trials runs (contenders interleaved); peak RSS and CPU cover the
contender's whole process tree (wandb-core included), sampled from /proc.

    python benchmarks/sync_bench.py                 # 25 mixed jobs at 0 and 150 ms, and 50 x 2,000 steps
    python benchmarks/sync_bench.py --smoke         # seconds: 3 small jobs, 1 trial (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without installing
CONTENDERS = ("logger", "ftsync", "full", "floor")
MIXED_STEPS = (30, 60, 120, 240, 600)  # 25 jobs cycle through these: 30-600 steps, as real jobs vary


@dataclass
class Measure:
    contender: str
    wall: float
    cpu: float  # seconds of CPU of the whole process tree
    peak_rss: int  # bytes, the tree's sum at its peak
    jobs: int
    rows: int

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall else 0.0


# ---- the contenders (run in a child process) -------------------------------------------------

def run_logger(base_url: str, key: str, job_ids: list[str]) -> None:
    from openai import OpenAI
    from wandb.integration.openai.fine_tuning import WandbLogger

    WandbLogger._ensure_logged_in = classmethod(lambda cls: True)  # offline: no W&B to ask
    WandbLogger._get_wandb_run = classmethod(lambda cls, run_path: None)
    WandbLogger._get_wandb_artifact = classmethod(lambda cls, artifact_path: None)
    client = OpenAI(base_url=base_url, api_key=key)
    for job_id in job_ids:
        WandbLogger.sync(fine_tune_job_id=job_id, openai_client=client, wait_for_job_success=False, log_datasets=False)


def run_ftsync(base_url: str, key: str, job_ids: list[str], datasets: bool) -> None:
    from ftsync.cli import main

    argv = ["sync", "--offline", *[a for j in job_ids for a in ("--id", j)]]
    if not datasets:  # the logger's work: no datasets, no events/checkpoints tables
        argv += ["--no-datasets", "--no-events"]
    os.environ.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=key)
    code = main(argv)
    if code != 0:
        raise SystemExit(f"ftsync sync exited {code}")


def run_floor(steps: list[int]) -> None:
    import wandb

    for n, count in enumerate(steps):
        run = wandb.init(project="floor", id=f"floor-{n}", mode="offline", reinit="create_new",
                         settings=wandb.Settings(silent=True, console="off", x_disable_stats=True))
        for step in range(1, count + 1):
            run.log({"train_loss": 1.0 / step, "train_accuracy": 0.5, "valid_loss": 1.1 / step,
                     "valid_mean_token_accuracy": 0.4}, step=step)
        run.finish()


def child(args: argparse.Namespace) -> None:
    spec = json.loads(Path(args.child).read_text())
    name = spec["contender"]
    if name == "logger":
        run_logger(spec["base_url"], spec["key"], spec["job_ids"])
    elif name in ("ftsync", "full"):
        run_ftsync(spec["base_url"], spec["key"], spec["job_ids"], datasets=name == "full")
    else:
        run_floor(spec["steps"])


# ---- measuring a process tree --------------------------------------------------------------------

def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def _usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of one process, (0, 0) once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0, 0.0
    ticks = sum(int(x) for x in stat[11:13])  # utime stime (not cutime: a reaped child is counted as itself)
    return rss, ticks / os.sysconf("SC_CLK_TCK")


def measure_tree(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run `cmd` to its end: (wall seconds, CPU seconds, peak RSS bytes) of its whole process tree,
    wandb-core's flush after the Python process exits included. Raises on a non-zero exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, cpu_seen = 0, {}
    while proc.poll() is None:
        sample = {pid: _usage(pid) for pid in _tree(proc.pid)}
        peak = max(peak, sum(rss for rss, _ in sample.values()))
        cpu_seen.update({pid: cpu for pid, (rss, cpu) in sample.items() if rss})
        time.sleep(0.05)
    # wandb-core outlives its Python process while it flushes the run logs: the work is done when it is
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(_usage(pid)[0] for pid in cpu_seen if pid != proc.pid):
        cpu_seen.update({pid: cpu for pid in cpu_seen if (cpu := _usage(pid)[1])})
        time.sleep(0.05)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[1:3]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, sum(cpu_seen.values()), peak


def measure(contender: str, spec: dict, env: dict[str, str], jobs: int, rows: int) -> Measure:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec | {"contender": contender}, f)
    try:
        wall, cpu, peak = measure_tree([sys.executable, __file__, "--child", f.name], env)
    finally:
        os.unlink(f.name)
    return Measure(contender, wall, cpu, peak, jobs, rows)


# ---- the runs ------------------------------------------------------------------------------------

def scenario(name: str, jobs: int, steps: tuple[int, ...], latency: float, trials: int,
             contenders: tuple[str, ...]) -> dict:
    from ftsync.emulator import Emulator

    with Emulator("bench", jobs=jobs, steps=list(steps), latency=latency, examples=50) as emu:
        ids = emu.workspace.job_ids()
        per_job = [steps[i % len(steps)] for i in range(len(ids))]  # job_ids() is newest first, as built
        rows = sum(per_job)
        results: dict[str, list[Measure]] = {c: [] for c in contenders}
        for trial in range(trials):
            order = contenders[trial % len(contenders):] + contenders[:trial % len(contenders)]
            for contender in order:
                with tempfile.TemporaryDirectory() as tmp:
                    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "OPENAI_"))}
                    env.update(PYTHONPATH=str(ROOT), WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=tmp, FTSYNC_HOME=f"{tmp}/home",
                               WANDB_DATA_DIR=f"{tmp}/d", WANDB_CACHE_DIR=f"{tmp}/c", WANDB_CONFIG_DIR=f"{tmp}/cf",
                               NETRC=f"{tmp}/no-netrc")
                    spec = {"base_url": emu.base_url, "key": emu.api_key, "job_ids": ids, "steps": per_job}
                    m = measure(contender, spec, env, len(ids), rows)
                    check_logged(Path(tmp), len(ids), rows)
                    results[contender].append(m)
                    print(f"  {name} {latency * 1000:.0f} ms trial {trial + 1}: {contender:7s} {m.wall:6.2f} s "
                          f"{m.cores:4.2f} cores {m.peak_rss / 2**20:5.0f} MB", file=sys.stderr, flush=True)
    return {"name": name, "latency_ms": latency * 1000, "jobs": jobs, "rows": rows, "trials": trials,
            "median": {c: asdict(_median(ms)) for c, ms in results.items()}}


def check_logged(wandb_dir: Path, jobs: int, rows: int) -> None:
    """A contender that logged less than asked would win for the wrong reason: read its runs back."""
    from ftsync.wandb_offline import offline_runs

    runs = offline_runs(wandb_dir)
    logged = sum(len(run.history) for run in runs)
    if len(runs) != jobs or logged < rows:
        raise RuntimeError(f"{len(runs)} runs and {logged} rows logged, not {jobs} runs and {rows} rows")


def _median(ms: list[Measure]) -> Measure:
    mid = sorted(ms, key=lambda m: m.wall)[len(ms) // 2]
    return Measure(mid.contender, statistics.median(m.wall for m in ms), statistics.median(m.cpu for m in ms),
                   max(m.peak_rss for m in ms), mid.jobs, mid.rows)


# ---- the report ----------------------------------------------------------------------------------

def ratios_table(s: dict) -> str:
    med = s["median"]
    lines = ["| contender | wall s | ratio to logger | jobs/s | rows/s | cores used | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    base = med.get("logger", {}).get("wall")
    for c in CONTENDERS:
        if c not in med:
            continue
        m = med[c]
        ratio = f"{m['wall'] / base:.2f}x" if base else "-"
        lines.append(f"| {c} | {m['wall']:.2f} | {ratio} | {m['jobs'] / m['wall']:.2f} | {m['rows'] / m['wall']:,.0f} "
                     f"| {m['cpu'] / m['wall']:.2f} | {m['peak_rss'] / 2**20:.0f} |")
    return "\n".join(lines)


def chart_svg(scenarios: list[dict]) -> str:
    """Bars of each contender's time as a ratio of the logger's (1.0 = as fast as W&B's logger)."""
    colors = {"logger": "#9c9c9c", "ftsync": "#1f77b4", "full": "#2ca02c", "floor": "#ff7f0e"}
    bar, gap, left, width = 16, 14, 230, 420
    rows = [(s, c) for s in scenarios for c in CONTENDERS if c in s["median"] and "logger" in s["median"]]
    height = 40 + len(rows) * (bar + 4) + len(scenarios) * gap
    top = max([s["median"][c]["wall"] / s["median"]["logger"]["wall"] for s, c in rows] + [1.0])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<text x="10" y="18" font-weight="bold">Sync time as a ratio of W&amp;B\'s logger (lower is faster)</text>']
    y, current = 30, None
    for s, c in rows:
        if s is not current:
            y += gap if current is not None else 0
            current = s
        ratio = s["median"][c]["wall"] / s["median"]["logger"]["wall"]
        label = f'{s["name"]}, {s["latency_ms"]:.0f} ms: {c}'
        w = width * ratio / top
        out.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colors[c]}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 12}">{ratio:.2f}x</text>')
        y += bar + 4
    x1 = left + width / top
    out.append(f'<line x1="{x1:.1f}" y1="26" x2="{x1:.1f}" y2="{height - 4}" stroke="#444" stroke-dasharray="3,3"/>')
    out.append("</svg>")
    return "\n".join(out)


def machine() -> str:
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, {platform.platform()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--smoke", action="store_true", help="a few seconds: 3 small jobs, one trial, no file written")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--big-jobs", type=int, default=50, help="jobs of 2,000 steps in the large scenario (issue: 200)")
    p.add_argument("--out", type=Path, default=HERE / "sync_results.json")
    args = p.parse_args()
    if args.child:
        child(args)
        return
    if args.smoke:
        s = scenario("smoke", 3, (30,), 0.0, 1, CONTENDERS)
        print(ratios_table(s))
        return
    scenarios = [scenario("25 mixed jobs", 25, MIXED_STEPS, 0.0, args.trials, CONTENDERS),
                 scenario("25 mixed jobs", 25, MIXED_STEPS, 0.15, args.trials, CONTENDERS),
                 scenario(f"{args.big_jobs} x 2,000 steps", args.big_jobs, (2000,), 0.0, 1, ("logger", "ftsync", "floor"))]
    args.out.write_text(json.dumps({"machine": machine(), "scenarios": scenarios}, indent=2))
    (HERE / "sync_ratios.svg").write_text(chart_svg(scenarios))
    for s in scenarios:
        print(f"\n### {s['name']}, {s['latency_ms']:.0f} ms per request ({s['rows']:,} rows, median of {s['trials']})\n")
        print(ratios_table(s))


if __name__ == "__main__":
    main()
