"""The dashboard's own cost, headless (Streamlit's AppTest): the Jobs page with 1,000 jobs, and
the Metrics page with a 100,000-step job: script time of the first run (the listing's round trips
included, no API latency) and of a warm rerun, and the size of the chart payload sent to the browser;
and the server's peak RSS (its whole process tree: wandb-core and workers included) while the whole
demo workspace is synced from the Jobs page ("Sync all unsynced").

    python benchmarks/dashboard_bench.py [--jobs 1000] [--steps 100000] [--trials 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from ftsync import connection  # noqa: E402
from ftsync.emulator import Emulator  # noqa: E402

sys.path.insert(0, str(HERE))
SECRETS = {"wandb_project": "OpenAI-Fine-Tune", "allowed_endpoints": ["127.0.0.1"], "allow_private_endpoints": True}


def session(emu: Emulator) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.secrets["ftsync"] = SECRETS
    inputs = {"openai_api_key": emu.api_key, "openai_base_url": emu.base_url}
    at.session_state["ftsync_inputs"] = inputs | {connection.KEY_ENDPOINT: connection.endpoint_id(inputs)}
    return at


def timed(at: AppTest) -> float:
    t = time.perf_counter()
    at.run()
    if at.exception:
        raise RuntimeError(at.exception)
    return time.perf_counter() - t


def chart_bytes(at: AppTest) -> int:
    return sum(len(c.proto.spec) + sum(len(d.data.data) for d in c.proto.datasets) for c in at.get("vega_lite_chart"))


def page(path: str, emu: Emulator, query: dict[str, str], trials: int) -> dict:
    firsts, warms, payload = [], [], 0
    import streamlit as st

    for _ in range(trials):
        st.cache_data.clear()  # each trial's first run reads the account, as a new visitor's would
        at = session(emu)
        at.run()  # Home: the session starts as a visitor's would
        for k, v in query.items():
            at.query_params[k] = v
        at.switch_page(path)
        firsts.append(timed(at))
        warms.append(min(timed(at) for _ in range(3)))
        payload = chart_bytes(at)
    return {"first": statistics.median(firsts), "warm": statistics.median(warms), "chart_bytes": payload}


def demo_sync_child() -> None:
    """A visitor with no keys (demo mode) opens Jobs and presses "Sync all unsynced"; to the end."""
    sys.path.insert(0, str(ROOT / "tests"))
    from apptest import new_app, wait_for_syncs

    at = new_app(None, secrets={})
    at.default_timeout = 600
    at.run()
    at.switch_page("pages/2_Jobs.py").run()
    button = at.button(key="jobs_sync_unsynced")
    if button.disabled:
        raise SystemExit("nothing to sync in the demo")
    button.click().run()
    wait_for_syncs(at, timeout=600)
    at.run()
    left = at.button(key="jobs_sync_unsynced")
    if at.exception or not left.disabled:
        raise SystemExit(f"the demo was not synced whole: {at.exception or left.label}")


def demo_sync() -> dict:
    """Peak RSS of the dashboard's process tree syncing the whole demo workspace from the Jobs page."""
    import os

    import sync_bench as sb

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "OPENAI_"))}
        env.update(PYTHONPATH=str(ROOT), FTSYNC_HOME=f"{tmp}/home", WANDB_DIR=tmp, WANDB_SILENT="true",
                   WANDB_DATA_DIR=f"{tmp}/d", WANDB_CACHE_DIR=f"{tmp}/c", WANDB_CONFIG_DIR=f"{tmp}/cf",
                   NETRC=f"{tmp}/no-netrc")
        wall, cpu, peak = sb.measure_tree([sys.executable, __file__, "--demo-sync-child"], env)
    return {"wall": wall, "cpu": cpu, "peak_rss": peak}


def run(jobs: int, steps: int, trials: int) -> dict:
    import os

    before = os.environ.get("FTSYNC_HOME")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FTSYNC_HOME"] = tmp  # the dashboard's state for these sessions, thrown away after
        try:
            with Emulator("bench", jobs=jobs, steps=[10], examples=20) as emu:
                jobs_page = page("pages/2_Jobs.py", emu, {}, trials)
            with Emulator("bench", jobs=1, steps=[steps], examples=20) as emu:
                job_id = emu.workspace.job_ids()[0]
                metrics_page = page("pages/3_Metrics.py", emu, {"job": job_id}, trials)
        finally:
            if before is None:
                os.environ.pop("FTSYNC_HOME", None)
            else:
                os.environ["FTSYNC_HOME"] = before
    return {"jobs": jobs, "steps": steps, "jobs_page": jobs_page, "metrics_page": metrics_page, "demo_sync": demo_sync()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--demo-sync-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.demo_sync_child:
        demo_sync_child()
        return
    print(json.dumps(run(args.jobs, args.steps, args.trials), indent=2))


if __name__ == "__main__":
    main()
