"""Downsampling long training curves for the Metrics page: LTTB (ours) vs every-Nth decimation.

Both reduce 10 series x 100k steps to 1,500 points per series, side by side in one run; the
anchor is the naive pandas decimation. Also reports how much shape each keeps (the share of
each series' global min/max that survives), which is why LTTB is worth its cost.

    python benchmarks/metrics_bench.py [--series 10] [--steps 100000] [--points 1500]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from ftsync import metrics_view as mv


def curves(series: int, steps: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = rng.normal(size=series * steps).cumsum()
    values[rng.integers(0, series * steps, 50)] += 500  # spikes a chart must not lose
    return pd.DataFrame({"job": np.repeat([f"job{j}" for j in range(series)], steps),
                         "step": np.tile(np.arange(steps), series), "metric": "loss", "split": "train",
                         "value": values})


def decimate(long: pd.DataFrame, points: int) -> pd.DataFrame:
    parts = []
    for _, g in long.groupby("job", sort=False):
        stride = max(1, -(-len(g) // points))
        parts.append(g.iloc[::stride])
    return pd.concat(parts)


def kept_extremes(full: pd.DataFrame, small: pd.DataFrame) -> float:
    hits = 0
    for job, g in full.groupby("job"):
        s = small[small.job == job]["value"]
        hits += (g["value"].max() in set(s)) + (g["value"].min() in set(s))
    return hits / (2 * full["job"].nunique())


def timed(fn, *args, repeat: int = 5) -> tuple[float, pd.DataFrame]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=10)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--points", type=int, default=1500)
    a = p.parse_args()
    long = curves(a.series, a.steps)
    ours_s, ours = timed(mv.downsample, long, a.points)
    anchor_s, anchor = timed(decimate, long, a.points)
    print(f"{a.series} series x {a.steps:,} steps -> {a.points} points each (median of 5)")
    print(f"{'contender':<34} {'seconds':>8} {'rows':>7} {'extremes kept':>14}")
    print(f"{'ftsync downsample (LTTB)':<34} {ours_s:>8.3f} {len(ours):>7} {kept_extremes(long, ours):>13.0%}")
    print(f"{'anchor: every-Nth decimation':<34} {anchor_s:>8.3f} {len(anchor):>7} {kept_extremes(long, anchor):>13.0%}")
    print(f"ratio ours/anchor: {ours_s / anchor_s:.2f}x time")


if __name__ == "__main__":
    main()
