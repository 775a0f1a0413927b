"""ftsync dashboard: home page (placeholder until the dashboard lands; see README)."""

import streamlit as st

st.set_page_config(page_title="ftsync", page_icon="🔁", layout="wide")
st.title("ftsync")
st.write(
    "Sync OpenAI fine-tuning jobs into Weights & Biases. The dashboard pages are on their way; "
    "meanwhile `ftsync emulator` serves a demo workspace of fine-tuning jobs locally."
)
