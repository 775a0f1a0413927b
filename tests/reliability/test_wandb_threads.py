"""wandb's process-wide artifact caches, used from many threads at once (the dashboard syncs a whole
account in threads): no KeyError from their pruning once ftsync is imported."""

from __future__ import annotations

import subprocess
import sys

HAMMER = """
import sys, threading
sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows at once
{setup}
from wandb.sdk.lib.capped_dict import CappedDict
cache = CappedDict(100)
errors = []
def work(n):
    try:
        for i in range(20000):
            cache[f"{{n}}-{{i}}"] = i
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(errors), len(cache))
"""


def _run(setup: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", HAMMER.format(setup=setup)], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    return int(out[0]), int(out[1])


def test_wandbs_artifact_caches_are_safe_from_threads_with_ftsync():
    errors, size = _run("import ftsync.sink")
    assert errors == 0 and size <= 100


def test_without_ftsync_the_race_is_real():
    """The test above could not fail if wandb's cache were safe on its own: this shows it is not (a
    wandb that fixes it would make this one fail, and the patch could go)."""
    assert any(_run("")[0] > 0 for _ in range(3))  # a race: given three chances to show
