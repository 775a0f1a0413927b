"""Where credentials and places come from: arguments first, then the standard environment.

Settings objects are plain values passed down as arguments; nothing here writes `os.environ`
or logs in globally, so several dashboard users can hold different keys in one process. Keys
are kept out of `repr()` and exposed to caches only as a fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from openai import AzureOpenAI, OpenAI

from .errors import ConfigError
from .ids import shown
from .limits import DEFAULT_LIMITS, Limits

# Checks a URL before any request goes to it (the hosted dashboard's outbound policy); raises
# errors.EndpointRefused. None: any endpoint (the CLI, run by its own user).
EndpointPolicy = Callable[[str], None]

DEFAULT_PROJECT = "OpenAI-Fine-Tune"
DEFAULT_WANDB_URL = "https://api.forge.coreweave.com"  # wandb 0.31's own default server (W&B's cloud)
DEFAULT_AZURE_API_VERSION = "2024-10-21"


def fingerprint(*parts: str | None) -> str:
    """A short, stable, one-way id for cache keys and lock names (never the key itself)."""
    return hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()[:16]


def checked_key(key: str, service: str) -> str:
    """A key as pasted (surrounding whitespace, a stray \\r, removed); one line if it cannot be a key."""
    key = key.strip()
    if not key.isascii() or any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigError(f"the {service} API key contains characters no key has (spaces, control or non-ASCII "
                          "characters); paste it again")
    return key


def checked_url(value: str, what: str) -> str:
    """An endpoint as entered, if it is an http(s) URL with a host (and a valid port, if any) that the
    HTTP client can parse; else one line naming the setting. Checked where it enters (the environment,
    the Connect page), so nothing later fails on it with a traceback."""
    text = value.strip()
    problem = ConfigError(f"{what} is not an http(s) URL: {shown(text)}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        host = parts.hostname
        httpx2.URL(text)  # what the SDK will parse it with
    except (ValueError, httpx2.InvalidURL):
        raise problem from None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in text):
        raise problem
    return text


def ftsync_home(env: Mapping[str, str] | None = None) -> Path:
    """`$FTSYNC_HOME`, or the platform's user data dir (ledger, file cache, locks)."""
    env = os.environ if env is None else env
    if env.get("FTSYNC_HOME"):
        return Path(env["FTSYNC_HOME"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("ftsync", appauthor=False))


@dataclass(frozen=True)
class OpenAISettings:
    """How to reach OpenAI or Azure OpenAI."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    azure_endpoint: str | None = None
    api_version: str | None = None
    max_retries: int = 6  # with backoff: a 20% fault rate still completes every request (0.2**7 per request)
    timeout: float = 120.0
    limits: Limits = field(default=DEFAULT_LIMITS, compare=False)
    policy: EndpointPolicy | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base_url:
            checked_url(self.base_url, "the OpenAI base URL")
        if self.azure_endpoint:
            checked_url(self.azure_endpoint, "the Azure OpenAI endpoint")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "OpenAISettings":
        env = os.environ if env is None else env
        azure = overrides.get("azure_endpoint") or env.get("AZURE_OPENAI_ENDPOINT")
        values: dict[str, object] = {
            "api_key": env.get("AZURE_OPENAI_API_KEY") if azure else env.get("OPENAI_API_KEY"),
            "base_url": env.get("OPENAI_BASE_URL"),
            "organization": env.get("OPENAI_ORG_ID"),
            "project": env.get("OPENAI_PROJECT_ID"),
            "azure_endpoint": azure,
            "api_version": env.get("OPENAI_API_VERSION"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_azure(self) -> bool:
        return bool(self.azure_endpoint)

    @property
    def endpoint(self) -> str:
        return self.azure_endpoint or self.base_url or "https://api.openai.com/v1"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.api_key, self.endpoint, self.organization, self.project)

    def client(self) -> OpenAI:
        if not self.api_key:
            var = "AZURE_OPENAI_API_KEY" if self.is_azure else "OPENAI_API_KEY"
            raise ConfigError(f"no OpenAI API key: pass one or set {var}")
        key = checked_key(self.api_key, "OpenAI")
        if self.policy is not None:
            self.policy(self.endpoint)  # refused before the key goes anywhere
        from .transport import http_client

        http = http_client(self.limits, self.policy, self.timeout)
        if self.is_azure:
            return AzureOpenAI(azure_endpoint=self.azure_endpoint, api_key=key,
                               api_version=self.api_version or DEFAULT_AZURE_API_VERSION,
                               max_retries=self.max_retries, timeout=self.timeout, http_client=http)
        return OpenAI(api_key=key, base_url=self.base_url, organization=self.organization,
                      project=self.project, max_retries=self.max_retries, timeout=self.timeout, http_client=http)


@functools.lru_cache(maxsize=64)  # the URL only: no key, no user data
def app_url(base_url: str) -> str:
    import wandb

    return str(wandb.Settings(base_url=base_url).app_url).rstrip("/")


def login_key(base_url: str, env: Mapping[str, str] | None = None) -> str | None:
    """The key `wandb login` saved for this server (netrc: `$NETRC` or ~/.netrc), if any."""
    import netrc

    env = os.environ if env is None else env
    path = Path(env.get("NETRC") or Path.home() / ".netrc").expanduser()
    host = urlsplit(base_url).hostname
    if not host or not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError):
        return None
    return entry[2] if entry and entry[2] else None


@dataclass(frozen=True)
class WandbSettings:
    """Where runs go. mode "auto": online with a key, offline without one or with WANDB_MODE=offline."""

    api_key: str | None = field(default=None, repr=False)
    entity: str | None = None
    project: str = DEFAULT_PROJECT
    mode: str = "auto"  # auto | online | offline
    dir: Path | None = None  # offline runs land in <dir>/wandb/
    base_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "WandbSettings":
        """The CLI's and Python API's settings: as wandb itself finds them, `WANDB_API_KEY` first,
        then the `wandb login` entry for the server in netrc."""
        env = os.environ if env is None else env
        base_url = env.get("WANDB_BASE_URL")
        values: dict[str, object] = {
            "api_key": env.get("WANDB_API_KEY") or login_key(base_url or DEFAULT_WANDB_URL, env),
            "entity": env.get("WANDB_ENTITY"),
            "project": env.get("WANDB_PROJECT") or DEFAULT_PROJECT,
            "mode": env.get("WANDB_MODE") or "auto",
            "dir": Path(env["WANDB_DIR"]) if env.get("WANDB_DIR") else None,
            "base_url": base_url,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def offline(self) -> bool:
        if self.mode in ("offline", "dryrun", "disabled"):
            return True
        if self.mode == "online":
            return False
        return not self.api_key

    @property
    def host(self) -> str:
        """The W&B server, always explicit: wandb would otherwise use whatever server the process last used."""
        return (self.base_url or DEFAULT_WANDB_URL).rstrip("/")

    @property
    def app_url(self) -> str:
        """The W&B web app for this server, as wandb itself derives it (run pages live under it)."""
        return app_url(self.host)

    def run_url(self, run_path: str) -> str:
        """The web page of an online run, from its `entity/project/run_id` path."""
        entity, project, run_id = run_path.split("/")
        return f"{self.app_url}/{entity}/{project}/runs/{run_id}"

    @property
    def run_dir(self) -> Path:
        return Path(self.dir) if self.dir else Path.cwd()

    @property
    def scope(self) -> tuple[str, str]:
        """(entity, project) as the ledger keys them. Offline runs have no entity yet; online with the
        key's default entity, a fingerprint of the key stands in for it, so two W&B accounts sharing
        one server (the hosted dashboard) never mistake each other's syncs for their own."""
        if self.entity:
            return self.entity, self.project
        return ("" if self.offline else f"~{fingerprint(self.api_key)[:8]}"), self.project
