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
