"""Host containment (wildcards any depth, never upward) and CIDR containment."""

from __future__ import annotations

import ipaddress

import pytest

from webhook.policy.hosts import (
    HostPatternError,
    host_within,
    ip_in_networks,
    normalize_policy_host,
)


@pytest.mark.parametrize(
    ("requested", "allowed", "within"),
    [
        ("api.github.com", "api.github.com", True),
        ("a.googleapis.com", "*.googleapis.com", True),
        ("a.b.googleapis.com", "*.googleapis.com", True),
        ("*.googleapis.com", "*.googleapis.com", True),
        ("*.b.googleapis.com", "*.googleapis.com", True),
        ("googleapis.com", "*.googleapis.com", False),  # the apex is not a subdomain
        ("xgoogleapis.com", "*.googleapis.com", False),
        ("*.com", "*.googleapis.com", False),  # broader wildcard under narrower
        ("*.googleapis.com", "a.googleapis.com", False),  # wildcard under exact
        ("*.github.com", "api.github.com", False),
        ("github.com", "api.github.com", False),
    ],
)
def test_host_within(requested: str, allowed: str, within: bool) -> None:
    assert host_within(requested, allowed) is within


@pytest.mark.parametrize(
    "host",
    [
        "*",
        "*.com",
        "*foo.com",
        "foo.*.com",
        "Ünicode.com",
        "a.com.",
        "1.2.3.4",
        "localhost",
        "a..b.com",
    ],
)
def test_policy_refuses_hosts_istio_reads_differently(host: str) -> None:
    with pytest.raises(HostPatternError):
        normalize_policy_host(host)


def test_policy_hosts_are_lowercased() -> None:
    assert normalize_policy_host("API.GitHub.com") == "api.github.com"


NETS = (ipaddress.ip_network("192.168.1.0/24"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("value", "inside"),
    [
        ("192.168.1.10", True),
        ("192.168.1.0/25", True),
        ("192.168.1.0/24", True),
        ("192.168.0.0/16", False),
        ("192.168.2.1", False),
        ("2001:db8::1", True),
        ("::ffff:192.168.1.10", False),  # another address family is another network
        ("not-an-ip", False),
    ],
)
def test_ip_in_networks(value: str, inside: bool) -> None:
    assert ip_in_networks(value, NETS) is inside
