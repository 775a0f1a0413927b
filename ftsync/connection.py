"""What a dashboard session is connected to, built from what the user typed (never globals).

With no OpenAI key the session runs in demo mode: the emulator's demo workspace, served
in-process on a local port (one shared, key-independent server), and W&B offline in a local
folder. Entering a real key switches over.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import describe_openai_error
from .settings import DEFAULT_PROJECT, OpenAISettings, WandbSettings, fingerprint, ftsync_home

DEMO_ROOT = Path(tempfile.gettempdir()) / "ftsync-demo"
_demo_lock = threading.Lock()
_demo_server: Any = None  # the shared demo emulator: demo data only, no user's key or account


def demo_emulator() -> Any:
    """The process-wide demo emulator, started on first use."""
    global _demo_server
    with _demo_lock:
        if _demo_server is None:
            from .emulator import Emulator

            _demo_server = Emulator("demo").start()
        return _demo_server


@dataclass(frozen=True)
class Connection:
    openai: OpenAISettings
    wandb: WandbSettings
    home: Path
    demo: bool = False

    @property
    def fingerprint(self) -> str:
        """Identifies the account and W&B target; the cache key for anything account-specific."""
        return fingerprint(self.openai.fingerprint, self.wandb.api_key, self.wandb.entity, self.wandb.project,
                           str(self.wandb.offline))

    @property
    def openai_label(self) -> str:
        if self.demo:
            return "Demo workspace (local emulator)"
        return f"Azure OpenAI ({self.openai.azure_endpoint})" if self.openai.is_azure else f"OpenAI ({self.openai.endpoint})"

    @property
    def wandb_label(self) -> str:
        target = f"{self.wandb.entity + '/' if self.wandb.entity else ''}{self.wandb.project}"
        if self.wandb.offline:
            return f"W&B offline → {target} (runs kept in {self.wandb.run_dir}/wandb)"
        return f"W&B online → {target}"


def build_connection(inputs: dict[str, Any]) -> Connection:
    """From the Connect page's fields (keys included, held only in the session)."""
    key = (inputs.get("openai_api_key") or "").strip()
    wandb_key = (inputs.get("wandb_api_key") or "").strip() or None
    mode = inputs.get("wandb_mode") or "auto"
    project = (inputs.get("wandb_project") or "").strip() or DEFAULT_PROJECT
    entity = (inputs.get("wandb_entity") or "").strip() or None
    if not key:
        emu = demo_emulator()
        return Connection(
            openai=OpenAISettings(api_key=emu.api_key, base_url=emu.base_url, max_retries=2, timeout=30),
            wandb=WandbSettings(api_key=None, entity=entity, project=project, mode="offline", dir=DEMO_ROOT / "wandb"),
            home=DEMO_ROOT / "home", demo=True)
    azure = (inputs.get("azure_endpoint") or "").strip() or None
    openai = OpenAISettings(api_key=key, base_url=(inputs.get("openai_base_url") or "").strip() or None,
                            organization=(inputs.get("openai_organization") or "").strip() or None,
                            project=(inputs.get("openai_project") or "").strip() or None,
                            azure_endpoint=azure, api_version=(inputs.get("azure_api_version") or "").strip() or None)
    home = ftsync_home()
    wandb = WandbSettings(api_key=wandb_key, entity=entity, project=project,
                          mode="offline" if mode == "offline" or not wandb_key else "online", dir=home / "wandb")
    return Connection(openai=openai, wandb=wandb, home=home)


@dataclass
class Check:
    service: str
    ok: bool
    message: str


def check_openai(conn: Connection) -> Check:
    try:
        client = conn.openai.client()
        page = client.with_options(max_retries=1, timeout=15).fine_tuning.jobs.list(limit=1)
        return Check("OpenAI", True, f"connected: {conn.openai_label}; {'jobs found' if page.data else 'no jobs yet'}")
    except Exception as exc:  # every failure becomes one line, without the key
        return Check("OpenAI", False, describe_openai_error(exc))


def check_wandb(conn: Connection) -> Check:
    if conn.wandb.offline:
        return Check("W&B", True, f"offline: runs are written to {conn.wandb.run_dir}/wandb, upload later with `wandb sync`")
    try:
        import wandb

        api = wandb.Api(api_key=conn.wandb.api_key, timeout=15,
                        overrides={"base_url": conn.wandb.base_url} if conn.wandb.base_url else {})
        viewer = api.viewer
        name = getattr(viewer, "username", None) or getattr(viewer, "entity", None) or "your account"
        return Check("W&B", True, f"connected as {name}")
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if conn.wandb.api_key:
            text = text.replace(conn.wandb.api_key, "***")
        reason = "W&B rejected the API key" if "401" in text or "unauthorized" in text.lower() else "cannot reach W&B"
        return Check("W&B", False, f"{reason} ({text[:120]})")
