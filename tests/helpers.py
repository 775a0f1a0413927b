"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

from openai import AzureOpenAI, OpenAI

from ftsync.emulator import Emulator


def openai_client(emu: Emulator, **kw) -> OpenAI:
    return OpenAI(base_url=emu.base_url, api_key=emu.api_key, **kw)


def azure_client(emu: Emulator, **kw) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=emu.azure_endpoint, api_key=emu.api_key, api_version="2024-10-21", **kw)
