"""destination-rule-tunnel: a tunnel opens only a host and port the namespace may use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.destination_rule_objects import (
    DR_POLICY,
    destination_rule,
    on_port,
    subset,
    tunnel,
)
from tests.unit.istio_objects import GATEWAY, decide, findings
from webhook.policy.rules.destination_rule_tunnel import RULE

PROXY = "corp-proxy.example.com"  # allowlisted on 3128: a forward proxy answering CONNECT


def _messages(obj: dict[str, Any]) -> list[str]:
    return [f"{v.field}: {v.message}" for v in findings(RULE, obj, DR_POLICY)]


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        # Door: a gateway-required host opened through an outside proxy skips the gateway.
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("api.github.com")),
            "must leave through the egress gateway",
            id="gateway-required-through-outside-proxy",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("storage.googleapis.com")),
            "must leave through the egress gateway",
            id="gateway-required-wildcard-member-through-outside-proxy",
        ),
        # Door: the proxy sends CONNECT evil.example.org:443 to an allowlisted forward proxy.
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("evil.example.org")),
            'spec.trafficPolicy.tunnel.targetHost: tunnel to "evil.example.org:443"',
            id="allowlisted-proxy-to-unlisted",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("evil.example.org", protocol="POST")),
            "not on the egress allowlist",
            id="post",
        ),
        # Door: the egress gateway is an in-cluster name, but the CONNECT authority is not.
        pytest.param(
            destination_rule(GATEWAY, trafficPolicy=tunnel("evil.example.org")),
            "not on the egress allowlist",
            id="egress-gateway-host",
        ),
        pytest.param(
            destination_rule(GATEWAY, subsets=[subset("x", tunnel("evil.example.org"))]),
            "spec.subsets[0].trafficPolicy.tunnel.targetHost",
            id="subset",
        ),
        # Door: a rule for every host tunnels every TCP/TLS connection of the namespace.
        pytest.param(
            destination_rule("*", trafficPolicy=tunnel("evil.example.org")),
            "not on the egress allowlist",
            id="bare-wildcard-host",
        ),
        pytest.param(
            destination_rule("*.com", trafficPolicy=tunnel("evil.example.org")),
            "not on the egress allowlist",
            id="wildcard-host-overlapping-allowlist",
        ),
        pytest.param(
            destination_rule(
                "squid.default.svc.cluster.local", trafficPolicy=tunnel("evil.example.org")
            ),
            "not on the egress allowlist",
            id="in-cluster-proxy",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("api.github.com", 22)),
            'port 22 is not allowed for host "api.github.com"',
            id="allowlisted-host-other-port",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("db.example.com", 5432)),
            "only for namespace payments",
            id="other-namespaces-host",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("EVIL.example.org")),
            "not on the egress allowlist",
            id="case",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("api.github.com.")),
            "ends with a dot",
            id="trailing-dot",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("*.googleapis.com")),
            "is a wildcard",
            id="wildcard-target",
        ),
        # A one-label name is expanded by the proxy's own search domains (Istio's own tunnel
        # test uses "external.<ns>", which resolves the same way): not a name we can judge.
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("evil", 443)),
            "single-label",
            id="single-label",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("external.external-ns", 443)),
            "not on the egress allowlist",
            id="two-label-search-domain-name",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("203.0.113.7")),
            "IP address outside the internal networks",
            id="ip",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("[2001:db8::1]")),
            "IP address outside",
            id="ipv6",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("192.168.1.5", 5432)),
            "IP address outside",
            id="ip-in-another-namespaces-cidrs",
        ),
        pytest.param(
            destination_rule(PROXY, "payments", trafficPolicy=tunnel("192.168.1.5", 443)),
            "allows port 443",
            id="ip-in-own-cidrs-other-port",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("", 443)),
            "targetHost is empty",
            id="empty-target",
        ),
        # Ordinary: a tunnel to what the namespace may reach anyway.
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("edition.cnn.com")), None, id="allowlisted"
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("img.cdn.example.net")),
            None,
            id="allowlisted-wildcard-member",
        ),
        pytest.param(
            destination_rule(
                "squid.default.svc.cluster.local",
                subsets=[subset("github", tunnel("api.github.com")), subset("plain")],
            ),
            None,
            id="in-cluster-proxy-subset-to-allowlisted",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("mysql.db.svc.cluster.local", 3306)),
            None,
            id="in-cluster-target",
        ),
        pytest.param(
            destination_rule(PROXY, trafficPolicy=tunnel("10.96.0.10", 53)),
            None,
            id="ip-in-internal-networks",
        ),
        # Door: a pod DNS record is in the cluster domain, but CoreDNS answers it with the
        # IP it spells (pods insecure), so the proxy opens 140.82.112.5 (coredns findPods).
        pytest.param(
            destination_rule(
                "squid.default.svc.cluster.local",
                trafficPolicy=tunnel("140-82-112-5.default.pod.cluster.local"),
            ),
            'is a pod DNS name for 140.82.112.5: targetHost "140.82.112.5" is an IP address',
            id="pod-record-public-ip",
        ),
        pytest.param(
            destination_rule(
                "squid.default.svc.cluster.local",
                trafficPolicy=tunnel("x.140-82-112-5.default.pod.cluster.local"),
            ),
            "is a pod DNS name for 140.82.112.5",
            id="pod-record-with-leading-label",
        ),
        pytest.param(
            destination_rule(
                "squid.default.svc.cluster.local",
                trafficPolicy=tunnel("10-96-1-7.default.pod.cluster.local", 8080),
            ),
            None,
            id="pod-record-internal-ip",
        ),
        pytest.param(
            destination_rule(
                PROXY, "payments", trafficPolicy=tunnel("192.168.1.5", 5432), exportTo=["."]
            ),
            None,
            id="ip-in-own-cidrs",
        ),
        pytest.param(
            destination_rule(
                "squid.payments.svc.cluster.local",
                "payments",
                trafficPolicy=tunnel("db.example.com", 5432),
                exportTo=["."],
            ),
            None,
            id="own-namespaces-host",
        ),
    ],
)
def test_tunnels(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1, messages
        assert fragment in messages[0]


def test_port_level_settings_have_no_tunnel() -> None:
    """PortTrafficPolicy has no tunnel field: an object claiming one is refused as unknown."""
    obj = destination_rule(PROXY, trafficPolicy=on_port(3128, tunnel("evil.example.org")))
    decision = decide(obj, DR_POLICY)
    assert not decision.allowed
    assert [v.field for v in decision.violations] == [
        "spec.trafficPolicy.portLevelSettings[0].tunnel"
    ]


def test_every_tunnel_is_reported() -> None:
    obj = destination_rule(
        "*",
        trafficPolicy=tunnel("a.example.org"),
        subsets=[subset("x", tunnel("b.example.org")), subset("y", tunnel("api.github.com"))],
    )
    # the third opens an allowlisted host, but one that must leave through the egress
    # gateway, through whatever `*` names (outside proxies included)
    assert [v.field for v in findings(RULE, obj, DR_POLICY)] == [
        "spec.trafficPolicy.tunnel.targetHost",
        "spec.subsets[0].trafficPolicy.tunnel.targetHost",
        "spec.subsets[1].trafficPolicy.tunnel.targetHost",
    ]
