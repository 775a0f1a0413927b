"""Error text from a server is shown truncated and as text, never as markup."""

from __future__ import annotations

import pytest

from ftsync.ui.text import plain

MARKUP = set("\\`*_{}[]()#+-.!|<>$~:=&^")


def unescaped_markup(text: str) -> list[str]:
    """Markup characters of `text` not escaped by a backslash."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in MARKUP:
            found.append(text[i])
        i += 1
    return found

from ..apptest import new_app, shown
from .recorder import Recorder

HOSTILE = ("**Bold** [click here](https://evil.example/login) ![x](https://evil.example/p.png) :red[alarm] "
           "<img src=x onerror=alert(1)> $x^2$ `code` # heading " + "A" * 2000)


def test_plain_escapes_every_markup_character_and_truncates():
    text = plain(HOSTILE, limit=300)
    assert len(text.replace("\\", "").replace("\u2060", "")) <= 300
    assert unescaped_markup(text) == []
    assert "://" not in text and "www." not in plain("see www.evil.example")  # no bare URL becomes a link
    assert unescaped_markup(HOSTILE)  # the check sees markup where there is some
    assert plain("line one\nline two") == "line one line two"


pytestmark = pytest.mark.usefixtures("fresh_caches")


def test_a_servers_error_text_is_shown_as_text():
    body = {"error": {"message": HOSTILE, "type": "server_error", "code": None}}
    with Recorder("127.0.0.1", status=500, body=body) as server:
        at = new_app({"openai_api_key": "sk-any", "openai_base_url": server.base_url})
        at.run()
        assert not at.exception
        [error] = at.error
        assert "OpenAI answered 500" in shown(error)
        assert unescaped_markup(error.value) == [], error.value
        assert len(shown(error)) < 400
