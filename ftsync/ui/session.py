"""Per-session state and the account-scoped cached loaders every page uses.

Each page starts with `setup_page(...)`: pages/ scripts can be the first thing a fresh server
runs (a deep link), so none relies on app.py having run. Keys live only in
`st.session_state[INPUTS]`; every cache holding account data is keyed by the connection's
fingerprint (never the key) and receives the connection unhashed (`_conn`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ..connection import Connection, build_connection
from ..ledger import Ledger

INPUTS = "ftsync_inputs"  # what the Connect page saved: keys, endpoints, W&B target
TASKS = "ftsync_sync_tasks"  # background syncs started in this session
SECRET_FIELDS = ("openai_api_key", "wandb_api_key")
DEFAULT_FIELDS = ("openai_base_url", "openai_organization", "openai_project", "azure_endpoint", "azure_api_version",
                  "wandb_entity", "wandb_project", "wandb_mode", *SECRET_FIELDS)


def secret_defaults() -> dict[str, Any]:
    """Team defaults from the `[ftsync]` section of st.secrets (root-level secrets are ignored:
    Streamlit exports those to os.environ, process-wide)."""
    try:
        section = st.secrets.get("ftsync", {})
    except (FileNotFoundError, KeyError):
        return {}
    return {k: section[k] for k in DEFAULT_FIELDS if k in section}


def inputs() -> dict[str, Any]:
    if INPUTS not in st.session_state:
        st.session_state[INPUTS] = secret_defaults()
    return st.session_state[INPUTS]


def save_inputs(values: dict[str, Any]) -> None:
    current = dict(inputs())
    for key, value in values.items():
        if key in SECRET_FIELDS and not value:
            continue  # an empty password field keeps the saved key
        current[key] = value
    st.session_state[INPUTS] = current


def forget_keys() -> None:
    st.session_state[INPUTS] = {k: v for k, v in inputs().items() if k not in SECRET_FIELDS}


def connection() -> Connection:
    return build_connection(inputs())


def setup_page(title: str, icon: str = "🔁") -> Connection:
    st.set_page_config(page_title=f"{title} · ftsync", page_icon=icon, layout="wide")
    conn = connection()
    st.session_state.setdefault(TASKS, [])
    with st.sidebar:
        if conn.demo:
            st.info("**Demo mode**: no OpenAI key, so this is the built-in demo workspace, "
                    "synced to W&B offline. Enter keys on the Connect page to use your account.", icon="🧪")
        else:
            st.success(f"{conn.openai_label}", icon="🔑")
        st.caption(conn.wandb_label)
    return conn


def ledger(conn: Connection) -> Ledger:
    return Ledger.in_home(conn.home)


@st.cache_data(ttl=15, show_spinner=False, max_entries=64)
def load_jobs(fingerprint: str, _conn: Connection) -> list[dict[str, Any]]:
    from ..source import list_jobs

    return list_jobs(_conn.openai.client())


@st.cache_data(ttl=20, show_spinner=False, max_entries=128)
def load_snapshot(fingerprint: str, job_id: str, job_state: str, _conn: Connection):
    """A job's events, checkpoints and metrics (no datasets). `job_state` (status + last update) is part
    of the key so a running job is re-read as it moves."""
    from ..source import fetch_snapshot, retrieve_job

    client = _conn.openai.client()
    return fetch_snapshot(client, retrieve_job(client, job_id), None, log_datasets=False)


def clear_account_caches() -> None:
    load_jobs.clear()
    load_snapshot.clear()


@st.cache_data(ttl=60, show_spinner=False, max_entries=64)
def load_files(fingerprint: str, _conn: Connection) -> list[dict[str, Any]]:
    """The account's fine-tune files, newest first."""
    from ..source import list_files

    return list_files(_conn.openai.client())


def account_file(conn: Connection, file_id: str):
    """A training/validation file of the account in the local cache (downloaded once)."""
    from ..filecache import FileCache
    from ..source import fetch_dataset

    ref = fetch_dataset(conn.openai.client(), FileCache(conn.home, conn.openai.fingerprint), "train", file_id)
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


def jobs_or_stop(conn: Connection) -> list[dict[str, Any]]:
    """The account's jobs, or the one-line reason they cannot be read (and the page stops there)."""
    from ..errors import FtsyncError

    try:
        return load_jobs(conn.fingerprint, conn)
    except FtsyncError as exc:
        st.error(str(exc))
        st.page_link("pages/1_Connect.py", label="Check the connection", icon="🔑")
        st.stop()
        raise  # st.stop() raises; this keeps type checkers honest
