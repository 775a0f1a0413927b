"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

from openai import AzureOpenAI, OpenAI

from ftsync.emulator import Emulator


def openai_client(emu: Emulator, **kw) -> OpenAI:
    return OpenAI(base_url=emu.base_url, api_key=emu.api_key, **kw)


def azure_client(emu: Emulator, **kw) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=emu.azure_endpoint, api_key=emu.api_key, api_version="2024-10-21", **kw)


def demo_job(emu: Emulator, *, status: str, method: str = "supervised", validation: bool | None = None,
             model_prefix: str = "") -> str:
    """The id of the newest demo job that fits."""
    now = emu.workspace.now()
    for job_id in emu.workspace.job_ids():
        plan = emu.workspace.jobs[job_id]
        if plan.status(now) != status or plan.method != method or not plan.model.startswith(model_prefix):
            continue
        if validation is not None and plan.has_validation != validation:
            continue
        return job_id
    raise LookupError(f"no demo job with status={status} method={method}")
