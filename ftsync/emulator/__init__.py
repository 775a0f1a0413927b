"""An OpenAI-compatible fine-tuning API server for tests, the demo and benchmarks.

The real `openai` SDK talks to it over HTTP and cannot tell it from the real API:

    from ftsync.emulator import Emulator
    with Emulator("demo") as emu:
        client = OpenAI(base_url=emu.base_url, api_key=emu.api_key)

Modules: rand (keyed randomness), timeline (a job's plan in time), metrics (curves and result
files), datagen (dataset files), workspace/workspaces (the account and its prepared contents),
render (API objects), create (job creation rules), api (routes), faults (fault injection),
server (HTTP).
"""

from .faults import FaultInjector, FaultRule, FaultSpecError
from .server import DEFAULT_API_KEY, Emulator
from .workspaces import WORKSPACES, build_workspace

__all__ = ["DEFAULT_API_KEY", "Emulator", "FaultInjector", "FaultRule", "FaultSpecError", "WORKSPACES", "build_workspace"]
