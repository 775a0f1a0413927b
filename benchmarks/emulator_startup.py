"""How fast `ftsync emulator --workspace bench --jobs 1000 --steps 2000` is serving.

Target (issue #2): serving in under 5 seconds. Anchor, measured in the same run: Python's own
`python -m http.server` reaching its first answer, i.e. the floor of starting any Python server.
Time = from process start to the first 200 answer to a real request (`GET /v1/fine_tuning/jobs`).

    python benchmarks/emulator_startup.py [--trials 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

TARGET_SECONDS = 5.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_serving(cmd: list[str], url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    try:
        while True:
            try:
                if httpx.get(url, headers=headers, timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode}")
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"{cmd} did not serve within 60 s")
            time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    ours, anchor = [], []
    for _ in range(args.trials):
        port = _free_port()
        ours.append(time_to_serving(
            [sys.executable, "-m", "ftsync.cli", "emulator", "--workspace", "bench", "--jobs", "1000",
             "--steps", "2000", "--port", str(port)],
            f"http://127.0.0.1:{port}/v1/fine_tuning/jobs?limit=1", {"Authorization": "Bearer sk-emulator"}))
        port = _free_port()
        anchor.append(time_to_serving([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                                      f"http://127.0.0.1:{port}/", {}))
    med_ours, med_anchor = statistics.median(ours), statistics.median(anchor)
    print(f"{'what':<48} {'median s':>9} {'runs':>24}")
    print(f"{'ftsync emulator bench 1000 jobs x 2000 steps':<48} {med_ours:>9.3f} {str([round(x, 3) for x in ours]):>24}")
    print(f"{'anchor: python -m http.server':<48} {med_anchor:>9.3f} {str([round(x, 3) for x in anchor]):>24}")
    print(f"ratio ours/anchor: {med_ours / med_anchor:.2f}x; target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if med_ours < TARGET_SECONDS else 'MISSED'}")


if __name__ == "__main__":
    main()
