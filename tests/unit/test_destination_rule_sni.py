"""destination-rule-sni: the name a rule's TLS presents is one the namespace may use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.destination_rule_objects import DR_POLICY, destination_rule, on_port, subset, tls
from tests.unit.istio_objects import GATEWAY, findings
from webhook.policy.rules.destination_rule_sni import RULE

CDN = "a.cdn.example.net"  # allowlisted: a shared front end that serves many sites


def _messages(obj: dict[str, Any]) -> list[str]:
    return [f"{v.field}: {v.message}" for v in findings(RULE, obj, DR_POLICY)]


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        # Door (domain fronting): connect to the CDN's addresses, ask it for another site.
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "blocked.example.org")),
            'spec.trafficPolicy.tls.sni: sni "blocked.example.org"',
            id="fronting-simple",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("MUTUAL", "blocked.example.org")),
            "not on the egress allowlist",
            id="fronting-mutual",
        ),
        # Door: the egress gateway picks its server (and so the external host) by SNI.
        pytest.param(
            destination_rule(GATEWAY, trafficPolicy=tls("ISTIO_MUTUAL", "evil.example.org")),
            "not on the egress allowlist",
            id="egress-gateway",
        ),
        pytest.param(
            destination_rule(
                GATEWAY,
                subsets=[subset("cnn", on_port(443, tls("ISTIO_MUTUAL", "evil.example.org")))],
            ),
            "spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.sni",
            id="egress-gateway-subset-port-level",
        ),
        pytest.param(
            destination_rule(GATEWAY, trafficPolicy=tls("ISTIO_MUTUAL", "db.example.com")),
            "only for namespace payments",
            id="another-namespaces-host",
        ),
        pytest.param(
            destination_rule(
                "api.github.com", trafficPolicy=on_port(443, tls("SIMPLE", "evil.example.org"))
            ),
            "spec.trafficPolicy.portLevelSettings[0].tls.sni",
            id="port-level",
        ),
        # A rule for every host presents the name to every destination of the namespace.
        pytest.param(
            destination_rule("*", trafficPolicy=tls("SIMPLE", "evil.example.org")),
            "not on the egress allowlist",
            id="bare-wildcard-host",
        ),
        pytest.param(
            destination_rule("*.net", trafficPolicy=tls("SIMPLE", "evil.example.org")),
            "not on the egress allowlist",
            id="wildcard-host-overlapping-allowlist",
        ),
        # Names a front end may read differently from the allowlist.
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "b.cdn.example.net.")),
            "ends with a dot",
            id="trailing-dot",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "*.cdn.example.net")),
            "is a wildcard",
            id="wildcard",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "203.0.113.7")),
            "IP address",
            id="ip",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "b.cdn.examp\u0142e.net")),
            "non-ASCII",
            id="homograph",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "localhost")),
            "single-label",
            id="single-label",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "bad_name.cdn.example.net")),
            "invalid DNS label",
            id="invalid-label",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "cdn.example.net")),
            "not on the egress allowlist",
            id="apex-of-wildcard-entry",
        ),
        # Door (domain fronting past the gateway): the CDN is reached directly (not in
        # requireFor), the SNI names a host whose mesh traffic must use the gateway.
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "storage.googleapis.com")),
            '"storage.googleapis.com" must use the egress gateway',
            id="fronting-gateway-required-host",
        ),
        pytest.param(
            destination_rule("*", trafficPolicy=tls("SIMPLE", "api.github.com")),
            '"api.github.com" must use the egress gateway',
            id="any-host-fronting-gateway-required-host",
        ),
        # Ordinary.
        pytest.param(destination_rule(CDN, trafficPolicy=tls("SIMPLE", CDN)), None, id="own-host"),
        # TLS origination for a gateway-required host by its own rule (applied at the egress
        # gateway), or under a wildcard the gateway is required for throughout.
        pytest.param(
            destination_rule("api.github.com", trafficPolicy=tls("SIMPLE", "api.github.com")),
            None,
            id="gateway-required-own-host",
        ),
        pytest.param(
            destination_rule(
                "*.googleapis.com", trafficPolicy=tls("SIMPLE", "storage.googleapis.com")
            ),
            None,
            id="gateway-required-wildcard",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "b.cdn.example.net")),
            None,
            id="another-allowlisted-name",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("SIMPLE", "B.CDN.EXAMPLE.NET")),
            None,
            id="case-insensitive-name",
        ),
        pytest.param(
            destination_rule(GATEWAY, trafficPolicy=tls("ISTIO_MUTUAL", "api.github.com")),
            None,
            id="egress-gateway-allowlisted",
        ),
        pytest.param(
            destination_rule(
                GATEWAY, "payments", trafficPolicy=tls("ISTIO_MUTUAL", "db.example.com")
            ),
            None,
            id="egress-gateway-own-namespaces-host",
        ),
        pytest.param(
            destination_rule(
                "my-nginx.mesh-external.svc.cluster.local",
                trafficPolicy=tls("MUTUAL", "my-nginx.mesh-external.svc.cluster.local"),
            ),
            None,
            id="in-cluster-name",
        ),
        # DISABLE (also the default mode) builds no TLS: the value is never sent.
        pytest.param(
            destination_rule(CDN, trafficPolicy=tls("DISABLE", "evil.example.org")),
            None,
            id="disable",
        ),
        pytest.param(
            destination_rule(CDN, trafficPolicy={"tls": {"sni": "evil.example.org"}}),
            None,
            id="mode-unset",
        ),
        pytest.param(
            destination_rule(
                CDN,
                trafficPolicy=tls(
                    "SIMPLE",
                    subjectAltNames=["anything.example.org"],
                    insecureSkipVerify=True,
                    caCertificates="/etc/certs/ca.pem",
                ),
            ),
            None,
            id="sans-and-skip-verify-name-nothing",
        ),
    ],
)
def test_sni(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1, messages
        assert fragment in messages[0]
