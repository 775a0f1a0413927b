"""The dashboard's navigation: every page with its title and icon, one list for every way into the app.

app.py registers it with `st.navigation`, so the sidebar says "Home" (not the entrypoint's file
name, "app"). Home is app.py itself (so tests and links reach it as "app.py"): Streamlit runs app.py
for every page, and app.py, run again as the Home page, draws Home (`run_app`).

A page opened by a deep link on a freshly started server runs without app.py (Streamlit's legacy
`pages/` mode lasts until some session runs `st.navigation`), so pages call `ensure_navigation()`
first: it registers the same list then, and does nothing otherwise.
"""

from __future__ import annotations

import threading

import streamlit as st

# (script, title, Material icon, what it is for: the tooltip of Home's links). Icon names never contain
# a page's title, so a search for a title's text finds the title only.
PAGES = (
    ("pages/1_Connect.py", "Connect", ":material/key:", "Your OpenAI and W&B keys, for this browser session only"),
    ("pages/2_Jobs.py", "Jobs", ":material/list_alt:", "Every fine-tuning job; sync them to W&B"),
    ("pages/3_Metrics.py", "Metrics", ":material/monitoring:", "Curves, events and settings of chosen jobs"),
    ("pages/4_Datasets.py", "Datasets", ":material/table_view:", "Check a training file"),
    ("pages/5_History.py", "History", ":material/schedule:", "What was synced, and offline runs to upload"),
    ("pages/6_Models.py", "Models", ":material/neurology:", "Fine-tuned models, their deadlines; record their answers"),
)


HOME = "app.py"
_script = threading.local()  # per script-run thread: is `st.navigation` running the asked-for page now?


def pages() -> list[st.Page]:
    """Home (app.py, the default page), then the scripts of pages/. No `help=`: Streamlit puts that text
    in the sidebar's HTML, where a search for a page's title would find it too."""
    home = st.Page(HOME, title="Home", icon=":material/dashboard:", default=True)
    return [home, *(st.Page(script, title=title, icon=icon) for script, title, icon, _ in PAGES)]


def run_app() -> None:
    """app.py's body. As the entrypoint: register the pages and run the one the URL asks for. As that
    page (Home is app.py, run again inside `page.run()`): draw Home."""
    if getattr(_script, "in_page", False):
        from .home import home_page

        home_page()
        return
    page = st.navigation(pages())
    _script.in_page = True
    try:
        page.run()
    finally:
        _script.in_page = False


RERUN_DONE = "_ftsync_navigation_rerun"


def ensure_navigation() -> None:
    """Register the pages when Streamlit ran this page the legacy way (without app.py); else nothing.

    Reads Streamlit's own flag for that mode; should a later Streamlit drop it, the only loss is the
    entrypoint's file name in the sidebar until the next page change.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        st.navigation(pages())  # also ends the legacy mode, for every later run
        if not st.session_state:  # the session's first run, so no click is lost by running again
            st.session_state[RERUN_DONE] = True
            st.rerun()  # at once, in the new mode: else the visitor's first click is lost to the switch
