"""The hosted dashboard's outbound policy: as a function over addresses (no traffic), and end to end
with 127.x servers only: a refused endpoint gets no request at all, and neither does a redirect target."""

from __future__ import annotations

import pytest

from ftsync.errors import EndpointRefused
from ftsync.outbound import OutboundPolicy, check_url, is_public_address, policy_from_settings
from ftsync.settings import OpenAISettings

from .recorder import Recorder

PUBLIC = "162.159.140.245"  # an address of api.openai.com; only ever an input here, never contacted


def resolver(table: dict[str, list[str]]):
    return lambda host: table.get(host, [])


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "10.0.0.1", "172.16.5.4", "192.168.1.1",
                                     "169.254.169.254", "fe80::1", "fd00::1", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                                     "::ffff:127.0.0.1", "::ffff:169.254.169.254", "240.0.0.1", "not-an-ip"])
def test_non_public_addresses_are_told_apart(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::6810:84e5"])
def test_public_addresses_pass(address):
    assert is_public_address(address)


def test_default_policy_allows_only_official_endpoints_at_public_addresses():
    policy = OutboundPolicy(resolver=resolver({"api.openai.com": [PUBLIC], "myres.openai.azure.com": [PUBLIC],
                                               "evil.example": [PUBLIC], "rebind.openai.azure.com": ["169.254.169.254"]}))
    check_url("https://api.openai.com/v1/fine_tuning/jobs", policy)
    check_url("https://myres.openai.azure.com/openai/fine_tuning/jobs", policy)
    refused = {
        "https://evil.example/v1": "not allowed",
        "http://api.openai.com/v1": "only https",
        "https://rebind.openai.azure.com/": "non-public address (169.254.169.254)",
        "https://169.254.169.254/latest/meta-data": "not allowed",
        "http://127.0.0.1:8080/v1": "not allowed",
        "https://user:pw@api.openai.com/v1": "user name or password",
        "file:///etc/passwd": "not an http(s) URL",
        "https://api.openai.com.evil.example/v1": "not allowed",
    }
    for url, reason in refused.items():
        with pytest.raises(EndpointRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
            check_url(url, policy)


def test_operator_settings_widen_the_policy():
    table = resolver({"llm-proxy.corp.example": ["10.1.2.3"], "127.0.0.1": ["127.0.0.1"]})
    strict = policy_from_settings({"allowed_endpoints": ["*.corp.example"]})
    strict = OutboundPolicy(strict.allowed_hosts, strict.allow_private, strict.trusted, table)
    with pytest.raises(EndpointRefused, match="non-public"):
        check_url("https://llm-proxy.corp.example/v1", strict)  # allowed by name, but a private address
    wide = OutboundPolicy(("*.corp.example", "127.0.0.1"), True, (), table)
    check_url("https://llm-proxy.corp.example/v1", wide)
    check_url("http://127.0.0.1:9000/v1", wide)
    team = OutboundPolicy(trusted=("https://llm-proxy.corp.example/v1",), resolver=table)
    check_url("https://llm-proxy.corp.example/v1/fine_tuning/jobs", team)  # the team's own endpoint, as configured
    with pytest.raises(EndpointRefused):
        check_url("https://llm-proxy.corp.example:8443/v1", team)


def test_a_refused_endpoint_never_receives_the_key():
    with Recorder("127.0.0.1") as attacker:
        settings = OpenAISettings(api_key="sk-visitor-secret", base_url=attacker.base_url, policy=OutboundPolicy())
        with pytest.raises(EndpointRefused, match="not allowed"):
            settings.client().fine_tuning.jobs.list()
        assert attacker.requests == []


def test_a_redirect_to_a_refused_address_is_not_followed():
    """The team's (trusted) server redirects elsewhere: the transport checks every hop, before connecting."""
    with Recorder("127.0.0.2") as target, Recorder("127.0.0.1", redirect=None) as team:
        team.redirect = target.origin
        policy = OutboundPolicy(trusted=(team.origin,))
        settings = OpenAISettings(api_key="sk-team-secret", base_url=team.base_url, policy=policy, max_retries=0)
        from ftsync.errors import describe_openai_error

        with pytest.raises(Exception) as caught:
            settings.client().fine_tuning.jobs.list()
        assert len(team.requests) == 1 and target.requests == []
        assert "not allowed" in describe_openai_error(caught.value)


def test_the_dashboard_refuses_a_visitors_loopback_endpoint_by_default(sync_env):
    """No operator settings: a visitor's Base URL at 127.0.0.1 is refused on every page, unsent."""
    import streamlit as st

    from ..apptest import new_app, shown

    st.cache_data.clear()
    with Recorder("127.0.0.1") as target:
        at = new_app({"openai_api_key": "sk-visitor-secret", "openai_base_url": target.base_url}, secrets={})
        at.run()
        assert [shown(e) for e in at.error] and "is not allowed here" in shown(at.error[0])
        assert "not connected" in shown(at.sidebar.error[0]) and not at.sidebar.success
        for page in ("pages/2_Jobs.py", "pages/3_Metrics.py", "pages/4_Datasets.py"):
            at.switch_page(page).run()
            assert not at.exception and "is not allowed here" in shown(at.error[0])
        at.switch_page("pages/1_Connect.py").run()
        at.button(key="connect_test").click().run()
        assert any("is not allowed here" in shown(e) for e in at.error)
        assert target.requests == []


@pytest.mark.parametrize("address", [
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:0a00:0001::5",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo whose client is 192.0.2.45
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "::127.0.0.1",  # IPv4-compatible loopback
    "::ffff:169.254.169.254",
])
def test_an_ipv6_address_wrapping_a_private_ipv4_one_is_not_public(address):
    """#20 item 7: 6to4, Teredo, NAT64 and IPv4-compatible addresses are judged by the IPv4 address they
    carry (before: 2002:a9fe:a9fe:: counted as public). A function test: nothing is contacted."""
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["2002:0808:0808::1", "64:ff9b::808:808", "2606:4700:4700::1111", "8.8.8.8"])
def test_wrapping_a_public_address_stays_public(address):
    assert is_public_address(address)
