"""route-backends: every external host a route, mirror or auth filter sends to is allowlisted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_route_objects import (
    NO_GATEWAY_POLICY,
    gateway_parent,
    hostname,
    mirror,
    route,
    se_parent,
    service_parent,
    set_host,
    svc,
    to_gateway,
    url_rewrite_host,
)
from tests.unit.istio_objects import RULES_POLICY, findings
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.route_backends import RULE

B0 = "spec.rules[0].backendRefs[0]"


def _mesh(parent: dict[str, Any], *rules: dict[str, Any], **meta: Any) -> dict[str, Any]:
    kind = meta.pop("kind", "HTTPRoute")
    return route(kind, parentRefs=[parent], rules=list(rules), **meta)


@pytest.mark.parametrize(
    ("obj", "policy", "fields"),
    [
        # Ordinary.
        pytest.param(
            _mesh(service_parent("reviews"), {"backendRefs": [svc("reviews-v1", 9080)]}),
            RULES_POLICY,
            [],
            id="in-cluster-service",
        ),
        pytest.param(
            _mesh(se_parent("cnn"), {"backendRefs": [to_gateway(80)]}),
            RULES_POLICY,
            [],
            id="cross-namespace-egress-gateway-service",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("httpbin.org", 80)]}),
            NO_GATEWAY_POLICY,
            [],
            id="allowlisted-hostname-on-its-port",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {"backendRefs": [hostname("reviews.default.svc.cluster.local", 9080)]},
            ),
            RULES_POLICY,
            [],
            id="hostname-kind-for-an-in-cluster-name",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "backendRefs": [
                        {
                            "group": "multicluster.x-k8s.io",
                            "kind": "ServiceImport",
                            "name": "web",
                            "port": 80,
                        }
                    ]
                },
            ),
            RULES_POLICY,
            [],
            id="service-import-is-in-the-cluster",
        ),
        pytest.param(
            _mesh(
                se_parent("db", "istio-system"),
                {"backendRefs": [hostname("db.example.com", 5432)]},
                namespace="payments",
                kind="TCPRoute",
            ),
            NO_GATEWAY_POLICY,
            [],
            id="consumer-route-to-own-restricted-host",
        ),
        # Bypasses.
        pytest.param(
            _mesh(
                se_parent("db", "payments"),
                {"backendRefs": [hostname("db.example.com", 5432)]},
                namespace="other-team",
                kind="TCPRoute",
            ),
            NO_GATEWAY_POLICY,
            [f"{B0}.name"],
            id="restricted-host-from-another-namespace",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("evil.example.org", 443)]}),
            RULES_POLICY,
            [f"{B0}.name"],
            id="hostname-not-allowlisted",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "filters": [mirror(hostname("paste.example", 443))],
                    "backendRefs": [svc("web-v1", 80)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].requestMirror.backendRef.name"],
            id="mirror-to-unlisted-host",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("httpbin.org", 8080)]}),
            NO_GATEWAY_POLICY,
            [f"{B0}.port"],
            id="allowlisted-host-other-port",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("*.com", 443)]}),
            RULES_POLICY,
            [f"{B0}.name"],
            id="wildcard-hostname-overlapping",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("API.GitHub.com.", 443)]}),
            RULES_POLICY,
            [f"{B0}.name"],
            id="trailing-dot-hostname",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "backendRefs": [
                        {
                            "group": "gateway.networking.x-k8s.io",
                            "kind": "XBackend",
                            "name": "evil",
                            "port": 443,
                        }
                    ]
                },
            ),
            RULES_POLICY,
            [f"{B0}.kind"],
            id="xbackend-external-hostname-of-newer-istio",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "filters": [
                        {
                            "type": "ExternalAuth",
                            "externalAuth": {
                                "protocol": "HTTP",
                                "backendRef": hostname("auth.evil.example", 443),
                            },
                        }
                    ],
                    "backendRefs": [svc("web-v1", 80)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].externalAuth.backendRef.name"],
            id="external-auth-service-outside",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "filters": [set_host("evil.example.org")],
                    "backendRefs": [hostname("foo.cdn.example.net", 443)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].requestHeaderModifier.set[0].value"],
            id="host-rewrite-on-a-route-sent-outside",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {"backendRefs": [to_gateway(80) | {"filters": [set_host("evil.example.org")]}]},
            ),
            RULES_POLICY,
            ["spec.rules[0].backendRefs[0].filters[0].requestHeaderModifier.set[0].value"],
            id="host-rewrite-on-a-route-to-the-egress-gateway",
        ),
        pytest.param(
            _mesh(
                gateway_parent("ingress"),
                {
                    "filters": [url_rewrite_host("db.example.com")],
                    "backendRefs": [to_gateway(80)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.hostname"],
            id="ingress-route-to-the-egress-gateway-as-another-namespaces-host",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {"filters": [url_rewrite_host("api.github.com")], "backendRefs": [to_gateway(443)]},
            ),
            RULES_POLICY,
            [],
            id="host-rewrite-to-an-allowlisted-host-at-the-egress-gateway",
        ),
        pytest.param(
            _mesh(
                service_parent("pay"),
                {"backendRefs": [hostname("db.example.com", 5432)]},
                namespace="payments",
                kind="TCPRoute",
            ),
            NO_GATEWAY_POLICY,
            [f"{B0}.name"],
            id="producer-route-shares-a-restricted-host",
        ),
    ],
)
def test_route_backends(obj: dict[str, Any], policy: CompiledPolicy, fields: list[str]) -> None:
    assert [v.field for v in findings(RULE, obj, policy)] == fields
