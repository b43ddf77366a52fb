"""Host containment (wildcards any depth, never upward) and CIDR containment."""

from __future__ import annotations

import ipaddress
import re

import pytest

import webhook.policy.hosts as hosts_module
from webhook.policy.hosts import (
    HostPatternError,
    authority_host,
    host_problem,
    host_within,
    hosts_overlap,
    ip_in_networks,
    label_wildcard,
    normalize_policy_host,
    parent_domains,
    shown,
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
        ("api.github.com", "*", True),  # Istio's bare "*" matches every name
        ("*.com", "*", True),
        ("*", "*", True),
        ("*", "*.com", False),
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


# Names a tenant controls can be megabytes of dots: the work on them must stay linear.
# These tests count what is built, not how long it takes (speed lives in bench/).
@pytest.mark.parametrize("name", ["." * 65_536, "a." * 50_000 + "com", "x" * 1_000_000])
def test_parent_domains_are_bounded_by_the_longest_indexed_domain(name: str) -> None:
    parents = parent_domains(name, longest=40)
    assert all(len(p) <= 40 for p in parents)
    assert len(parents) <= 41


def test_parent_domains_nearest_first() -> None:
    assert parent_domains("a.b.c.d") == ["b.c.d", "c.d", "d"]
    assert parent_domains("a.b.c.d", longest=3) == ["c.d", "d"]


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("." * 65_536, "65536 characters long"),
        ("a." * 200 + "com", "403 characters long"),
        ("*." + "a" * 300 + ".com", "characters long"),
        ("a" * 64 + ".com", "invalid DNS label"),
    ],
)
def test_names_longer_than_dns_allows_are_refused_first(host: str, fragment: str) -> None:
    problem = host_problem(host)
    assert problem is not None
    assert fragment in problem
    assert len(problem) < 300


def test_shown_quotes_short_values_whole_and_long_ones_shortened() -> None:
    assert shown("api.github.com") == '"api.github.com"'
    long = shown("a" * 1_000_000)
    assert long.endswith("(1000000 characters)")
    assert len(long) < 200


@pytest.mark.parametrize(
    ("host", "widened"),
    [
        ("*hub.com", "*.com"),  # Istio: HasSuffix("github.com", "hub.com")
        ("*-api.github.com", "*.github.com"),
        ("*x", "*"),
        ("*", "*"),
        ("*.com", "*.com"),
        ("api.github.com", "api.github.com"),
    ],
)
def test_label_wildcard_widens_partial_wildcards(host: str, widened: str) -> None:
    assert label_wildcard(host) == widened


def test_bare_wildcard_overlaps_everything() -> None:
    assert hosts_overlap("*", "api.github.com")
    assert hosts_overlap("*.googleapis.com", "*")


@pytest.mark.parametrize(
    "host",
    [
        "api.github.com",
        "*.googleapis.com",
        "a.b",
        "1.2.3.4",
        "*.1.2.3",
        "10.0.0.0",
        "1a.2b.3c.4d",
        "x" * 63 + ".com",
        "x" * 64 + ".com",
        ".".join(["a" * 61] * 4) + ".co",
        "*." + ".".join(["a" * 61] * 4) + ".co",
        "-a.com",
        "a-.com",
        "a..com",
        "API.github.com",
        "*.com",
        "a.com.",
        "a*.com",
    ],
)
def test_the_one_match_fast_path_agrees_with_every_check(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = host_problem(host)
    monkeypatch.setattr(hosts_module, "_PLAIN_NAME", re.compile(r"(?!)"))  # every check runs
    assert host_problem(host) == fast


@pytest.mark.parametrize("host", ["10.1", "127.1", "*.0.1", "a.b.1", "010.0.0.1"])
def test_all_numeric_last_label_is_refused(host: str) -> None:
    # Not a DNS name (RFC 1123 2.1): resolvers read "127.1" as the address 127.0.0.1.
    problem = host_problem(host)
    assert problem is not None
    assert "all-numeric" in problem


def test_numeric_inner_labels_are_names() -> None:
    assert host_problem("1.2.3.4.nip.example.com") is None


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("storage.googleapis.com", "storage.googleapis.com"),
        ("API.GitHub.com:443", "api.github.com"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("a.example:port", "a.example:port"),
    ],
)
def test_authority_host(value: str, host: str) -> None:
    assert authority_host(value) == host
