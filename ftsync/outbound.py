"""Which endpoints the hosted dashboard may send a visitor's key to.

A visitor can type any Base URL, so without a policy the dashboard's server fetches whatever
they name: its own loopback services, the cloud's metadata address, the team's internal
network. By default visitors reach the official OpenAI and Azure OpenAI endpoints only, over
https, at public addresses; the operator widens that in `[ftsync]` secrets. The CLI, run by its
own user on their own machine, has no policy.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import EndpointRefused

OFFICIAL_HOSTS = ("api.openai.com",)
AZURE_HOST_PATTERNS = ("*.openai.azure.com", "*.cognitiveservices.azure.com", "*.services.ai.azure.com")

Resolver = Callable[[str], Iterable[str]]


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (what the HTTP client may connect to)."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError):
        return []


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the IPv4 address in the last 32 bits


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries to: mapped (::ffff:a.b.c.d), 6to4 (2002:a.b.c.d::),
    Teredo (its server and its client), NAT64 (64:ff9b::a.b.c.d) and IPv4-compatible (::a.b.c.d)."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d (deprecated, still routed by some stacks)
        found.append(ipaddress.IPv4Address(int(ip)))
    return [a for a in found if a is not None]


def is_public_address(address: str) -> bool:
    """A global unicast address: not loopback, private, link-local (cloud metadata), multicast or
    reserved, nor an IPv6 address that wraps one of those (6to4, Teredo, NAT64, mapped)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = _embedded_ipv4(ip)
        if wrapped:  # 2002:a9fe:a9fe:: is 169.254.169.254 (cloud metadata) over 6to4
            return all(is_public_address(str(a)) for a in wrapped)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


@dataclass(frozen=True)
class OutboundPolicy:
    """`allowed_hosts`: host names or patterns (`*.example.com`, `*` for any) allowed besides the
    official ones. `allow_private`: addresses that are not public (loopback, private ranges,
    link-local) may be used too, and over plain http. `trusted`: endpoints the operator configured
    themselves (the team's own), allowed as they are."""

    allowed_hosts: tuple[str, ...] = ()
    allow_private: bool = False
    trusted: tuple[str, ...] = ()
    resolver: Resolver = resolve

    def __call__(self, url: str) -> None:
        check_url(url, self)


def _same_origin(url: str, trusted: str) -> bool:
    try:
        a, b = urlsplit(url), urlsplit(trusted)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port) and bool(a.hostname)
    except ValueError:  # a malformed port or host, either side: not the same origin
        return False


def host_allowed(host: str, policy: OutboundPolicy) -> bool:
    """By name: an official host, an Azure OpenAI resource, or one the operator allowed."""
    host = host.lower().rstrip(".")
    patterns = (*OFFICIAL_HOSTS, *AZURE_HOST_PATTERNS, *(h.lower() for h in policy.allowed_hosts))
    return any(fnmatch.fnmatchcase(host, p) for p in patterns)


def check_url(url: str, policy: OutboundPolicy) -> None:
    """Raise EndpointRefused (one line, naming only the host) unless `url` may be reached."""
    if any(_same_origin(url, t) for t in policy.trusted if t):
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed one
        host = parts.hostname or ""
    except ValueError:
        raise EndpointRefused(f"not an http(s) URL: {url[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise EndpointRefused(f"not an http(s) URL: {url[:80]!r}")
    if parts.username or parts.password:
        raise EndpointRefused("endpoint URLs with a user name or password are refused")
    if not host_allowed(host, policy):
        raise EndpointRefused(f"endpoint {host} is not allowed here: this dashboard reaches api.openai.com and "
                              "Azure OpenAI (*.openai.azure.com) only, unless its operator allows more")
    addresses = list(policy.resolver(host))
    if not addresses:
        raise EndpointRefused(f"cannot resolve {host}")
    if policy.allow_private:
        return
    if parts.scheme != "https":
        raise EndpointRefused(f"endpoint {host}: only https is allowed")
    private = [a for a in addresses if not is_public_address(a)]
    if private:
        raise EndpointRefused(f"endpoint {host} resolves to a non-public address ({private[0]}): refused")


def policy_from_settings(section: dict, trusted: Iterable[str | None] = ()) -> OutboundPolicy:
    """From the `[ftsync]` secrets: `allowed_endpoints` (list of host patterns) and `allow_private_endpoints`."""
    hosts = section.get("allowed_endpoints") or ()
    if isinstance(hosts, str):
        hosts = [hosts]
    return OutboundPolicy(allowed_hosts=tuple(str(h).strip() for h in hosts if str(h).strip()),
                          allow_private=bool(section.get("allow_private_endpoints", False)),
                          trusted=tuple(t for t in trusted if t))
