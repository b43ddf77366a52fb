"""service-entry-hosts: allowlisted hosts pass; every way to name something else is refused."""

from __future__ import annotations

import pytest

from tests.unit.istio_objects import decide, findings, service_entry, tls_service_entry
from webhook.policy.rules.service_entry_hosts import RULE


def _violations(obj: dict[str, object]) -> list[str]:
    return [v.message for v in findings(RULE, obj)]


@pytest.mark.parametrize(
    "host",
    [
        "api.github.com",
        "storage.googleapis.com",
        "a.b.c.googleapis.com",  # any depth under the wildcard
        "*.googleapis.com",  # an equal wildcard
        "*.storage.googleapis.com",  # a narrower wildcard
    ],
)
def test_allowlisted_hosts_pass(host: str) -> None:
    assert _violations(tls_service_entry(host, resolution="DYNAMIC_DNS")) == []


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("evil.example.org", "not on the egress allowlist"),
        ("googleapis.com", "not on the egress allowlist"),  # a wildcard excludes its apex
        ("evilgoogleapis.com", "not on the egress allowlist"),  # suffix without a dot
        ("api.github.com.evil.com", "not on the egress allowlist"),
        ("github.com", "not on the egress allowlist"),
        ("*.github.com", "not on the egress allowlist"),  # wildcard under an exact entry
        ("*.com", "over-broad wildcard"),
        ("*", 'bare wildcard "*"'),
        ("*github.com", "partial wildcard"),
        ("api.*.com", "partial wildcard"),
        ("api.github.com.", "ends with a dot"),
        ("аpi.github.com", "non-ASCII"),  # Cyrillic a: a homograph
        ("api.github.com\u200b", "non-ASCII"),  # zero-width space
        ("140.82.112.5", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("10.0.0.0/8", "IP address"),
        ("github", "single-label"),
        ("api_github.com", "invalid DNS label"),
        ("api.github.com:443", "invalid DNS label"),
        ("", "is empty"),
        ("x" * 64 + ".github.com", "invalid DNS label"),
        ("payments.payments.svc.cluster.local", "cluster domain"),
        ("*.svc.cluster.local", "egress gateway's own name"),
        ("istio-egressgateway.istio-system.svc.cluster.local", "egress gateway's own name"),
        ("db.example.com", "allowlisted only for namespace payments"),
        # Istio keeps the case, and a TLS/TCP port takes only VirtualServices whose hosts
        # match it case-sensitively (getConfigsForHost, pilot/pkg/networking/core/tls.go):
        # the egress-gateway route for api.github.com would not apply to this entry.
        ("API.GitHub.com", "upper-case letters"),
    ],
)
def test_other_hosts_are_refused(host: str, fragment: str) -> None:
    messages = _violations(tls_service_entry(host))
    assert len(messages) == 1
    assert fragment in messages[0]


def test_message_names_the_host_namespace_and_what_is_allowed() -> None:
    [message] = _violations(tls_service_entry("evil.example.org"))
    assert message == (
        'host "evil.example.org" is not on the egress allowlist for namespace "default" '
        "(allowed: *.cdn.example.net, *.googleapis.com, *.partner.example.com, "
        "api.github.com, httpbin.org)"
    )


def test_one_bad_host_among_good_ones_is_found_by_index() -> None:
    obj = tls_service_entry("api.github.com", hosts=["api.github.com", "evil.example.org"])
    [violation] = [v for v in findings(RULE, obj)]
    assert violation.field == "spec.hosts[1]"


def test_a_service_entry_without_hosts_is_refused() -> None:
    assert _violations(service_entry(ports=[{"number": 443, "name": "tls"}])) == [
        "a ServiceEntry must name at least one host"
    ]


def test_restricted_entry_is_usable_from_its_namespace() -> None:
    obj = service_entry(
        "payments",
        hosts=["db.example.com"],
        ports=[{"number": 5432, "name": "pg", "protocol": "TCP"}],
        resolution="DNS",
        exportTo=["."],
    )
    assert decide(obj).allowed
