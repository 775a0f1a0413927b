"""Showing text that came from elsewhere (a server's error, a job id) as text, never as markup."""

from __future__ import annotations

import re

from ..errors import shorten

_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:=&^])")


def plain(text: object, limit: int = 300) -> str:
    """One line of at most `limit` characters, with every Markdown/Streamlit markup character escaped,
    for st.error/st.markdown and friends: a server's `[link](…)`, `**`, `:red[…]` or `<img>` shows as typed."""
    return _MARKUP.sub(r"\\\1", shorten(str(text), limit))
