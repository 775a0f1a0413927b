"""Per-session state and the account-scoped cached loaders every page uses.

Each page starts with `setup_page(...)`: pages/ scripts can be the first thing a fresh server
runs (a deep link), so none relies on app.py having run. Keys live only in
`st.session_state[INPUTS]`; every cache holding account data is keyed by the connection's
fingerprint (never the key) and receives the connection unhashed (`_conn`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import streamlit as st

from ..connection import (ENDPOINT_FIELDS, KEY_ENDPOINT, Check, Connection, build_connection, check_openai,
                          check_wandb, endpoint_id)
from ..errors import ConfigError
from ..ledger import Ledger
from ..outbound import OutboundPolicy, policy_from_settings
from ..settings import checked_url

if TYPE_CHECKING:
    from ..snapshot import JobView

INPUTS = "ftsync_inputs"  # what the Connect page saved: keys, endpoints, W&B target
TASKS = "ftsync_sync_tasks"  # background syncs started in this session
CHECKS = "ftsync_connection_checks"  # (connection fingerprint, [Check]) of the last verification
SESSION_TOKEN = "ftsync_session_token"  # names this session's demo folder (random, never shown)
CACHE_GENERATION = "ftsync_cache_generation"  # bumped to re-read this session's account data
SECRET_FIELDS = ("openai_api_key", "wandb_api_key")
DEFAULT_FIELDS = ("openai_base_url", "openai_organization", "openai_project", "azure_endpoint", "azure_api_version",
                  "wandb_entity", "wandb_project", "wandb_mode", "wandb_base_url", *SECRET_FIELDS)


def secret_section() -> dict[str, Any]:
    """The `[ftsync]` section of st.secrets (root-level secrets are ignored: Streamlit exports
    those to os.environ, process-wide)."""
    try:
        return dict(st.secrets.get("ftsync", {}))
    except (FileNotFoundError, KeyError):
        return {}


def secret_defaults() -> dict[str, Any]:
    """Team defaults from secrets; a team key is bound to the team's configured endpoint."""
    section = secret_section()
    values = {k: section[k] for k in DEFAULT_FIELDS if k in section}
    if values.get("openai_api_key"):
        values[KEY_ENDPOINT] = endpoint_id(values)
    return values


def endpoint_locked() -> bool:
    """The operator's `lock_endpoint = true`: visitors cannot change where OpenAI requests go."""
    return bool(secret_section().get("lock_endpoint", False))


def outbound_policy() -> OutboundPolicy:
    """Where visitors' keys may go: official endpoints, the team's configured one, what the operator allows."""
    section = secret_section()
    return policy_from_settings(section, trusted=[section.get("openai_base_url"), section.get("azure_endpoint")])


def inputs() -> dict[str, Any]:
    if INPUTS not in st.session_state:
        st.session_state[INPUTS] = secret_defaults()
    return st.session_state[INPUTS]


def save_inputs(values: dict[str, Any]) -> str | None:
    """Save the Connect form. A key is bound to the endpoint it is saved with: a changed endpoint
    without a new key drops the saved key (returned: the reason to show). With `lock_endpoint`,
    endpoint fields keep the team's values whatever was submitted."""
    current = dict(inputs())
    for field, what in (("openai_base_url", "Base URL"), ("azure_endpoint", "Azure OpenAI endpoint")):
        if values.get(field):
            try:
                checked_url(str(values[field]), what)
            except ConfigError as exc:  # nothing saved: the form keeps what was typed, to correct it
                return f"{exc}. Nothing was saved."
    if endpoint_locked():
        team = secret_defaults()
        values = {k: v for k, v in values.items() if k not in ENDPOINT_FIELDS} | {f: team.get(f, "") for f in ENDPOINT_FIELDS}
    had_key = bool(current.get("openai_api_key"))
    for key, value in values.items():
        if key in SECRET_FIELDS and not value:
            continue  # an empty password field keeps the saved key...
        current[key] = value
    if values.get("openai_api_key"):
        current[KEY_ENDPOINT] = endpoint_id(current)
    note = None
    if had_key and current.get(KEY_ENDPOINT) != endpoint_id(current):  # ...but only for the same endpoint
        current.pop("openai_api_key", None)
        current.pop(KEY_ENDPOINT, None)
        note = "The OpenAI endpoint changed, so the saved key was not kept: enter the key for the new endpoint."
    st.session_state[INPUTS] = current
    refresh_account_data()
    return note


# the Connect form's widgets and the inputs they save (password fields first)
FORM_FIELDS = {"connect_openai_key": "openai_api_key", "connect_wandb_key": "wandb_api_key",
               "connect_base_url": "openai_base_url", "connect_org": "openai_organization",
               "connect_project": "openai_project", "connect_azure": "azure_endpoint",
               "connect_api_version": "azure_api_version", "connect_entity": "wandb_entity",
               "connect_wb_project": "wandb_project", "connect_mode": "wandb_mode"}
PASSWORD_WIDGETS = ("connect_openai_key", "connect_wandb_key")


def save_connect_form() -> None:
    """The Connect form's Save (a callback, so it runs before the page is drawn again): save, verify
    both keys, and empty the password fields, so a typed key lives only in the saved inputs (not in
    the page, nor sent again by the next Save to an endpoint changed since)."""
    values = {name: str(st.session_state.get(widget) or "").strip() for widget, name in FORM_FIELDS.items()}
    values["wandb_mode"] = values["wandb_mode"] or "auto"
    st.session_state["connect_note"] = save_inputs(values)
    verify()  # both keys checked as they are saved: a rejected key is never shown as connected
    _clear_passwords()


def forget_keys() -> None:
    st.session_state[INPUTS] = {k: v for k, v in inputs().items() if k not in (*SECRET_FIELDS, KEY_ENDPOINT)}
    _clear_passwords()
    refresh_account_data()


def _clear_passwords() -> None:
    for widget in PASSWORD_WIDGETS:
        st.session_state[widget] = ""


def session_token() -> str:
    if SESSION_TOKEN not in st.session_state:
        st.session_state[SESSION_TOKEN] = secrets.token_hex(16)
    return st.session_state[SESSION_TOKEN]


def connection() -> Connection:
    return build_connection(inputs(), policy=outbound_policy(), demo_session=session_token())


def verify() -> list[Check]:
    """Check both keys of the current connection now; the outcome is kept for this connection only."""
    try:
        conn = connection()
    except ConfigError:  # the page says why already; there is nothing to check
        return []
    checks = [check_openai(conn), check_wandb(conn)]
    st.session_state[CHECKS] = (conn.fingerprint, checks)
    return checks


def last_checks(conn: Connection) -> list[Check]:
    """The last verification of exactly this connection (none after keys or endpoints changed)."""
    fingerprint, checks = st.session_state.get(CHECKS, ("", []))
    return checks if fingerprint == conn.fingerprint else []


def setup_page(title: str, icon: str = "🔁") -> Connection:
    """The page's config, the sidebar's connection state, and the session's connection; when the saved
    settings cannot make one (a team default that is not a URL), the page stops with that line and a
    link to Connect."""
    conn = _setup(title, icon)
    if conn is None:
        st.page_link("pages/1_Connect.py", label="Correct it on Connect", icon=":material/key:")
        st.stop()
    return conn  # type: ignore[return-value]  # st.stop() raises


def setup_connect_page() -> Connection | None:
    """As setup_page, for Connect: without a usable connection it is drawn anyway (None), so its
    form can correct the settings."""
    return _setup("Connect", "🔑")


def _setup(title: str, icon: str) -> Connection | None:
    from .navigation import ensure_navigation
    from .text import plain

    ensure_navigation()  # a deep link on a fresh server runs the page without app.py
    st.set_page_config(page_title=f"{title} · ftsync", page_icon=icon, layout="wide")
    try:
        conn = connection()
    except ConfigError as exc:
        st.error(plain(f"Not connected: {exc}."), icon=":material/warning:")
        return None
    st.session_state.setdefault(TASKS, [])
    failed = [c for c in last_checks(conn) if not c.ok]
    if not conn.demo and conn.openai.policy is not None:
        from ..errors import EndpointRefused

        try:
            conn.openai.policy(conn.openai.endpoint)
        except EndpointRefused as exc:  # said here too, so the sidebar never shows it as connected
            failed.append(Check("OpenAI", False, str(exc)))
    with st.sidebar:
        if conn.demo:
            st.info("**Demo mode**: no OpenAI key, so this is the built-in demo workspace, "
                    "synced to W&B offline. Enter keys on the Connect page to use your account.", icon=":material/science:")
        elif any(c.service == "OpenAI" for c in failed):
            st.error(plain(f"{conn.openai_label}: not connected"), icon=":material/warning:")
        else:
            st.success(plain(conn.openai_label), icon=":material/key:")
        if any(c.service == "W&B" for c in failed):
            st.error(plain(f"{conn.wandb_label}: not connected"), icon=":material/warning:")
        else:
            st.caption(plain(conn.wandb_label))
    return conn


def cache_key(conn: Connection) -> str:
    """The key of this session's cached account data: the account's fingerprint (never the key) and
    the session's generation, so a refresh here re-reads without emptying other sessions' caches."""
    return f"{conn.fingerprint}:{st.session_state.get(CACHE_GENERATION, 0)}"


def refresh_account_data() -> None:
    """Re-read this session's jobs, snapshots and files on the next run (other sessions keep theirs)."""
    st.session_state[CACHE_GENERATION] = st.session_state.get(CACHE_GENERATION, 0) + 1


def ledger(conn: Connection) -> Ledger:
    return Ledger.in_home(conn.home)


@st.cache_data(ttl=15, show_spinner=False, max_entries=64)
def load_jobs(fingerprint: str, _conn: Connection) -> list[JobView]:
    """The account's jobs as pages may show them: wrongly-typed fields None, `.problem` saying which."""
    from ..snapshot import job_view
    from ..source import list_jobs

    return [job_view(job) for job in list_jobs(_conn.openai.client(), _conn.openai.limits)]


@st.cache_data(ttl=20, show_spinner=False, max_entries=128)
def load_snapshot(fingerprint: str, job_id: str, job_state: str, _conn: Connection):
    """A job's events, checkpoints and metrics (no datasets). `job_state` (status + last update) is part
    of the key so a running job is re-read as it moves."""
    from ..errors import SourceError
    from ..snapshot import job_problem
    from ..source import fetch_snapshot, retrieve_job

    client = _conn.openai.client()
    job = retrieve_job(client, job_id)
    if problem := job_problem(job):  # read again, it may have changed since the listing
        raise SourceError(problem)
    return fetch_snapshot(client, job, None, log_datasets=False, limits=_conn.openai.limits)


@st.cache_data(ttl=60, show_spinner=False, max_entries=64)
def load_files(fingerprint: str, _conn: Connection) -> list[dict[str, Any]]:
    """The account's fine-tune files, newest first."""
    from ..source import list_files

    return list_files(_conn.openai.client(), limits=_conn.openai.limits)


def account_file(conn: Connection, file_id: str):
    """A training/validation file of the account in the local cache (downloaded once)."""
    from ..filecache import FileCache
    from ..source import fetch_dataset

    ref = fetch_dataset(conn.openai.client(), FileCache(conn.home, conn.openai.fingerprint), "train", file_id,
                        limits=conn.openai.limits)
    return ref


@st.cache_data(ttl=3600, show_spinner=False, max_entries=32)
def inspect_file(fingerprint: str, file_id: str, model: str | None, validation_id: str | None, _conn: Connection):
    """The dataset report of an account file (cached: file ids never change content)."""
    from ..datasets import inspect
    from ..errors import SourceError

    ref = account_file(_conn, file_id)
    if ref.error:
        raise SourceError(ref.error)
    validation = None
    if validation_id:
        vref = account_file(_conn, validation_id)
        validation = vref.path if not vref.error else None
    return ref.path, inspect(ref.path, model=model, validation=validation)


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def inspect_upload(session_fingerprint: str, digest: str, model: str | None, _data: bytes):
    from ..datasets import inspect

    return inspect(_data, model=model)


def jobs_or_stop(conn: Connection) -> list[JobView]:
    """The account's jobs, or the one-line reason they cannot be read (and the page stops there)."""
    from ..errors import FtsyncError
    from .text import plain

    try:
        return load_jobs(cache_key(conn), conn)
    except FtsyncError as exc:
        st.error(plain(str(exc)))
        st.page_link("pages/1_Connect.py", label="Check the connection", icon=":material/key:")
        st.stop()
        raise  # st.stop() raises; this keeps type checkers honest
