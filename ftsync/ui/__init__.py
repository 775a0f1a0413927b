"""Streamlit helpers the dashboard pages share: the only part of ftsync that imports streamlit."""
