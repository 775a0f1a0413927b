"""What a dashboard session is connected to, built from what the user typed (never globals).

With no OpenAI key the session runs in demo mode: the emulator's demo workspace, served
in-process on a local port (one shared, read-only, key-independent server), and W&B offline in
a folder of the session's own. Entering a real key switches over.

Everything a session writes (ledger, file cache, locks, offline runs) lives in a folder of its
account, `$FTSYNC_HOME/dashboard/accounts/<fingerprint of keys and endpoint>`, or of its demo
session, so one visitor never sees another's syncs. A key is bound to the endpoint it was saved
with (`KEY_ENDPOINT`): if the endpoint changes, the key is not sent anywhere.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FtsyncError, describe_openai_error
from .outbound import OutboundPolicy
from .settings import DEFAULT_PROJECT, OpenAISettings, WandbSettings, fingerprint, ftsync_home

ENDPOINT_FIELDS = ("openai_base_url", "azure_endpoint", "openai_organization", "openai_project")
KEY_ENDPOINT = "openai_key_endpoint"  # the endpoint_id the saved OpenAI key belongs to
DEMO_MAX_AGE = 24 * 3600  # demo folders of sessions idle this long are removed
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


def endpoint_id(values: Mapping[str, Any]) -> str:
    """Where an OpenAI key would be sent: base URL, Azure endpoint, organization and project."""
    return fingerprint(*(str(values.get(f) or "").strip().rstrip("/") for f in ENDPOINT_FIELDS))


def bound_key(values: Mapping[str, Any]) -> str:
    """The saved OpenAI key if it belongs to the endpoint now in `values`, else ""."""
    key = str(values.get("openai_api_key") or "").strip()
    return key if key and values.get(KEY_ENDPOINT) == endpoint_id(values) else ""


def dashboard_dirs(scope: str, env: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """(home, W&B dir) of one account or demo session: under $FTSYNC_HOME, runs under $WANDB_DIR if set."""
    env = os.environ if env is None else env
    home = ftsync_home(env) / "dashboard" / scope
    runs = Path(env["WANDB_DIR"]).expanduser() / "ftsync-dashboard" / scope if env.get("WANDB_DIR") else home
    return home, runs


def account_dirs(openai: OpenAISettings, wandb_key: str | None, wandb_base_url: str | None,
                 env: Mapping[str, str] | None = None) -> tuple[str, Path, Path]:
    """(scope, home, W&B dir) of an account in the dashboard: its OpenAI key and endpoint, and its W&B
    key and server. `ftsync sync/watch --dashboard` record there, so the dashboard shows their syncs."""
    scope = f"accounts/{fingerprint(openai.fingerprint, wandb_key or None, wandb_base_url or None)}"
    return (scope, *dashboard_dirs(scope, env))


def prune_demo_sessions(root: Path, keep: str, max_age: float = DEMO_MAX_AGE) -> None:
    """Remove the demo folders of sessions idle for `max_age` (demo state lives as long as its session)."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            if folder.name != keep and time.time() - folder.stat().st_mtime > max_age:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


@dataclass(frozen=True)
class Connection:
    openai: OpenAISettings
    wandb: WandbSettings
    home: Path
    demo: bool = False
    account: str = ""  # whose data this is: the account's (or demo session's) fingerprint

    @property
    def fingerprint(self) -> str:
        """Identifies the account and W&B target; the cache key for anything account-specific."""
        return fingerprint(self.account, self.openai.fingerprint, self.wandb.api_key, self.wandb.entity,
                           self.wandb.project, str(self.wandb.offline))

    @property
    def openai_label(self) -> str:
        if self.demo:
            return "Demo workspace (local emulator)"
        return f"Azure OpenAI ({self.openai.azure_endpoint})" if self.openai.is_azure else f"OpenAI ({self.openai.endpoint})"

    @property
    def wandb_label(self) -> str:
        target = f"{self.wandb.entity + '/' if self.wandb.entity else ''}{self.wandb.project}"
        if self.wandb.offline:
            return f"W&B offline → {target} (runs kept on this server until uploaded)"
        return f"W&B online → {target}"


def build_connection(inputs: Mapping[str, Any], *, policy: OutboundPolicy | None = None,
                     demo_session: str = "local") -> Connection:
    """From the Connect page's fields (keys included, held only in the session). `policy` bounds where
    a key may go (the hosted dashboard's); `demo_session` names this session's demo folder."""
    key = bound_key(inputs)
    wandb_key = (inputs.get("wandb_api_key") or "").strip() or None
    mode = inputs.get("wandb_mode") or "auto"
    project = (inputs.get("wandb_project") or "").strip() or DEFAULT_PROJECT
    entity = (inputs.get("wandb_entity") or "").strip() or None
    if not key:
        emu = demo_emulator()
        scope = f"demo/{fingerprint(demo_session)}"
        home, runs = dashboard_dirs(scope)
        prune_demo_sessions(home.parent, keep=home.name)
        return Connection(
            openai=OpenAISettings(api_key=emu.api_key, base_url=emu.base_url, max_retries=2, timeout=30),
            wandb=WandbSettings(api_key=None, entity=entity, project=project, mode="offline", dir=runs),
            home=home, demo=True, account=scope)
    azure = (inputs.get("azure_endpoint") or "").strip() or None
    openai = OpenAISettings(api_key=key, base_url=(inputs.get("openai_base_url") or "").strip() or None,
                            organization=(inputs.get("openai_organization") or "").strip() or None,
                            project=(inputs.get("openai_project") or "").strip() or None,
                            azure_endpoint=azure, api_version=(inputs.get("azure_api_version") or "").strip() or None,
                            max_retries=2, timeout=60, policy=policy)
    scope, home, runs = account_dirs(openai, wandb_key, inputs.get("wandb_base_url"))
    wandb = WandbSettings(api_key=wandb_key, entity=entity, project=project,
                          mode="offline" if mode == "offline" or not wandb_key else "online", dir=runs,
                          base_url=(inputs.get("wandb_base_url") or "").strip() or None)  # the operator's, from secrets
    return Connection(openai=openai, wandb=wandb, home=home, account=scope)


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
    except FtsyncError as exc:  # refused by the outbound policy: nothing was sent
        return Check("OpenAI", False, str(exc))
    except Exception as exc:  # every failure becomes one line, without the key
        return Check("OpenAI", False, describe_openai_error(exc))


def check_wandb(conn: Connection) -> Check:
    """Offline needs nothing; online, the key is verified with the W&B server it belongs to, and a
    rejected key, a malformed one and an unreachable server are told apart."""
    if conn.wandb.offline:
        reason = "no W&B key of your own" if not conn.wandb.api_key else "offline mode chosen"
        return Check("W&B", True, f"offline ({reason}): runs are kept on this server; the History page gives the "
                                  "wandb sync command that uploads them")
    from .errors import FtsyncError
    from .wandb_remote import wandb_api

    try:
        viewer = wandb_api(conn.wandb, timeout=15).viewer
    except FtsyncError as exc:
        return Check("W&B", False, str(exc))
    except Exception as exc:
        from .errors import describe_wandb_error

        return Check("W&B", False, describe_wandb_error(exc, conn.wandb.host, conn.wandb.api_key)[1])
    name = getattr(viewer, "username", None) or getattr(viewer, "entity", None) or "your account"
    return Check("W&B", True, f"connected to {conn.wandb.host} as {name}")
