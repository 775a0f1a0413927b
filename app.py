"""ftsync dashboard: the entrypoint, and the Home page.

Streamlit runs this file for every page: it registers the pages with their titles and icons (so the
sidebar says "Home") and runs the one asked for. Home is this file too: run again as that page, it
draws Home (`ftsync.ui.home`). The other pages stay scripts in pages/.
"""

from ftsync.ui.navigation import run_app

run_app()
