"""Connect: OpenAI / Azure and W&B credentials for this browser session only."""

import streamlit as st

from ftsync.ui.session import (endpoint_locked, forget_keys, inputs, last_checks, save_connect_form,
                               setup_connect_page, verify)
from ftsync.ui.text import plain

conn = setup_connect_page()  # None when the saved settings make no connection: the form corrects them
st.title("Connect")
st.caption("Keys stay in this browser session only: never in URLs, files, logs or W&B config. "
           "Leave the OpenAI key empty for the demo workspace.")
saved = inputs()
locked = endpoint_locked()  # the operator fixed the endpoint: the team key goes nowhere else
if note := st.session_state.pop("connect_note", None):
    st.warning(note)

with st.form("connect"):
    st.subheader("OpenAI")
    key_note = "saved for this session; leave empty to keep it" if saved.get("openai_api_key") else "empty: demo mode"
    st.text_input("OpenAI API key", type="password", key="connect_openai_key", help=key_note,
                  placeholder=key_note)
    endpoint_help = ("Set by this dashboard's operator." if locked else
                     "Changing the endpoint asks for the key again: a saved key is only sent where it was entered for.")
    c1, c2, c3 = st.columns(3)
    c1.text_input("Base URL (optional)", value=saved.get("openai_base_url", ""), key="connect_base_url",
                  disabled=locked, help=endpoint_help)
    c2.text_input("Organization (optional)", value=saved.get("openai_organization", ""), key="connect_org",
                  disabled=locked, help=endpoint_help)
    c3.text_input("Project (optional)", value=saved.get("openai_project", ""), key="connect_project",
                  disabled=locked, help=endpoint_help)
    a1, a2 = st.columns(2)
    a1.text_input("Azure OpenAI endpoint (optional)", value=saved.get("azure_endpoint", ""), key="connect_azure",
                  disabled=locked, help=endpoint_help)
    a2.text_input("Azure API version", value=saved.get("azure_api_version", "2024-10-21"),
                  key="connect_api_version")
    st.subheader("Weights & Biases")
    wb_note = "saved for this session; leave empty to keep it" if saved.get("wandb_api_key") else "empty: offline mode"
    st.text_input("W&B API key", type="password", key="connect_wandb_key", placeholder=wb_note, help=wb_note)
    w1, w2, w3 = st.columns(3)
    w1.text_input("Entity (optional)", value=saved.get("wandb_entity", ""), key="connect_entity")
    w2.text_input("Project", value=saved.get("wandb_project", "OpenAI-Fine-Tune"), key="connect_wb_project")
    modes = ["auto", "online", "offline"]
    w3.selectbox("Mode", modes, index=modes.index(saved.get("wandb_mode", "auto")), key="connect_mode",
                 help="auto: online with a key, offline without one")
    st.form_submit_button("Save", type="primary", on_click=save_connect_form)

b1, b2 = st.columns(2)
if b1.button("Test connection", key="connect_test"):
    verify()
for check in last_checks(conn) if conn else []:
    (st.success if check.ok else st.error)(plain(f"{check.service}: {check.message}"))
b2.button("Forget keys", key="connect_forget", on_click=forget_keys)

st.divider()
if conn:
    st.markdown(f"**Now connected to:** {plain(conn.openai_label)} · {plain(conn.wandb_label)}")
