"""Showing text that came from elsewhere (a server's error, a job id) as text, never as markup."""

from __future__ import annotations

import re

from ..errors import shorten

_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:=&^])")
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")  # what GitHub-flavoured Markdown turns into links on its own
_NO_LINK = "\u2060"  # a word joiner: invisible, and it breaks the autolink pattern


def plain(text: object, limit: int = 300) -> str:
    """One line of at most `limit` characters, with every Markdown/Streamlit markup character escaped,
    for st.error/st.markdown and friends: a server's `[link](…)`, `**`, `:red[…]` or `<img>` shows as typed."""
    text = _AUTOLINK.sub(lambda m: m.group(1)[0] + _NO_LINK + m.group(1)[1:], shorten(str(text), limit))
    return _MARKUP.sub(r"\\\1", text)
