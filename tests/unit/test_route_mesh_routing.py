"""route-mesh-routing: a route at sidecars sends external traffic only to the egress gateway."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_route_objects import (
    CNN_POLICY,
    NO_GATEWAY_POLICY,
    hostname,
    mirror,
    route,
    se_parent,
    service_parent,
    set_host,
    svc,
    to_gateway,
    url_rewrite_host,
    url_rewrite_path,
)
from tests.unit.istio_objects import RULES_POLICY, findings
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.route_mesh_routing import RULE

B0 = "spec.rules[0].backendRefs[0].name"
B1 = "spec.rules[0].backendRefs[1].name"
MIRROR = "spec.rules[0].filters[0].requestMirror.backendRef.name"


def _mesh(
    parent: dict[str, Any], *rules: dict[str, Any], kind: str = "HTTPRoute"
) -> dict[str, Any]:
    return route(kind, parentRefs=[parent], rules=list(rules))


@pytest.mark.parametrize(
    ("obj", "policy", "fields"),
    [
        # Ordinary: Istio's Gateway API tasks.
        pytest.param(
            _mesh(
                service_parent("reviews", port=9080),
                {
                    "backendRefs": [
                        svc("reviews-v1", 9080, weight=90),
                        svc("reviews-v2", 9080, weight=10),
                    ]
                },
            ),
            RULES_POLICY,
            [],
            id="traffic-shifting-between-services",
        ),
        pytest.param(
            _mesh(
                service_parent("httpbin"),
                {
                    "filters": [mirror(svc("httpbin-v2", 8000))],
                    "backendRefs": [svc("httpbin-v1", 8000)],
                },
            ),
            RULES_POLICY,
            [],
            id="mirroring-between-services",
        ),
        pytest.param(
            _mesh(
                service_parent("reviews", port=9080),
                {
                    "matches": [{"headers": [{"name": "end-user", "value": "jason"}]}],
                    "backendRefs": [svc("reviews-v2", 9080)],
                },
                {"backendRefs": [svc("reviews-v1", 9080)]},
            ),
            RULES_POLICY,
            [],
            id="header-based-routing",
        ),
        pytest.param(
            _mesh(se_parent("cnn"), {"backendRefs": [to_gateway(80)]}),
            RULES_POLICY,
            [],
            id="se-parent-to-central-egress-gateway",
        ),
        pytest.param(
            _mesh(se_parent("cnn"), {"backendRefs": [svc("cnn-egress-gateway-istio", 80)]}),
            CNN_POLICY,
            [],
            id="se-parent-to-approved-gateway-api-egress-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {"backendRefs": [svc("cnn-egress-gateway-istio", 443)]},
                kind="TLSRoute",
            ),
            CNN_POLICY,
            [],
            id="tls-se-parent-to-gateway-api-egress-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("httpbin-ext"),
                {"timeouts": {"request": "3s"}, "backendRefs": [hostname("httpbin.org", 80)]},
            ),
            NO_GATEWAY_POLICY,
            [],
            id="egress-control-timeout-host-not-gateway-required",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("foo.cdn.example.net", 443)]}),
            RULES_POLICY,
            [],
            id="service-parent-direct-to-host-not-gateway-required",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "filters": [url_rewrite_host("b.cdn.example.net")],
                    "backendRefs": [hostname("foo.cdn.example.net", 443)],
                },
            ),
            RULES_POLICY,
            [],
            id="direct-host-not-gateway-required-rewritten-to-another",
        ),
        # Door (domain fronting): straight out to a host the gateway is not required for,
        # with the Host rewritten to one it is required for.
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "filters": [url_rewrite_host("storage.googleapis.com")],
                    "backendRefs": [hostname("foo.cdn.example.net", 443)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.hostname"],
            id="direct-host-fronting-gateway-required-host",
        ),
        # Bypasses.
        pytest.param(
            _mesh(
                se_parent("github", "istio-system"),
                {"backendRefs": [hostname("api.github.com", 443)]},
            ),
            RULES_POLICY,
            [B0],
            id="consumer-route-overrides-admin-vs-straight-out",
        ),
        pytest.param(
            _mesh(se_parent("httpbin-ext"), {"backendRefs": [hostname("httpbin.org", 80)]}),
            RULES_POLICY,
            [B0],
            id="egress-control-route-for-gateway-required-host",
        ),
        pytest.param(
            _mesh(se_parent("github"), {"backendRefs": [svc("my-proxy", 3128)]}, kind="TLSRoute"),
            RULES_POLICY,
            [B0],
            id="tls-steal-into-tenant-proxy",
        ),
        pytest.param(
            _mesh(se_parent("github"), {"backendRefs": [svc("my-proxy", 3128)]}, kind="TCPRoute"),
            RULES_POLICY,
            [B0],
            id="tcp-steal-into-tenant-proxy",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {
                    "backendRefs": [
                        to_gateway(80) | {"weight": 90},
                        hostname("httpbin.org", 80, weight=10),
                    ]
                },
            ),
            RULES_POLICY,
            [B1],
            id="weighted-share-around-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {"filters": [mirror(svc("collector", 8080))], "backendRefs": [to_gateway(80)]},
            ),
            RULES_POLICY,
            [MIRROR],
            id="mirror-of-external-traffic",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {"filters": [url_rewrite_host("blocked.example")], "backendRefs": [to_gateway(80)]},
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.hostname"],
            id="url-rewrite-hostname-before-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {"filters": [set_host("blocked.example")], "backendRefs": [to_gateway(80)]},
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].requestHeaderModifier.set[0].value"],
            id="host-header-set-before-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {
                    "filters": [url_rewrite_path("ReplaceFullPath", "http://blocked.example/")],
                    "backendRefs": [to_gateway(80)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.path.replaceFullPath"],
            id="full-path-rewrite-to-absolute-url-before-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "filters": [url_rewrite_path("ReplacePrefixMatch", "http://blocked.example")],
                    "backendRefs": [to_gateway(80)],
                },
            ),
            RULES_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch"],
            id="prefix-rewrite-to-absolute-url-before-gateway",
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                    "filters": [url_rewrite_path("ReplacePrefixMatch", "/")],
                    "backendRefs": [to_gateway(80)],
                },
            ),
            RULES_POLICY,
            [],
            id="prefix-rewrite-removing-the-prefix-is-a-path",
        ),
        # The Gateway API docs' other path rewrites (http-redirect-rewrite guide, the
        # HTTPPathModifier reference): createRewriteFilter keeps their leading "/", and an
        # empty ReplacePrefixMatch becomes "/".
        *(
            pytest.param(
                _mesh(
                    se_parent("cnn"),
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                        "filters": [url_rewrite_path(kind, value)],
                        "backendRefs": [to_gateway(80)],
                    },
                ),
                RULES_POLICY,
                [],
                id=f"docs-{kind}-{value or 'empty'}-before-gateway",
            )
            for kind, value in (
                ("ReplacePrefixMatch", "/v2"),
                ("ReplacePrefixMatch", ""),
                ("ReplaceFullPath", "/"),
                ("ReplaceFullPath", "/v2/status"),
            )
        ),
        pytest.param(
            _mesh(
                se_parent("cnn"),
                {"backendRefs": [to_gateway(80) | {"filters": [set_host("blocked.example")]}]},
            ),
            RULES_POLICY,
            ["spec.rules[0].backendRefs[0].filters[0].requestHeaderModifier.set[0].value"],
            id="backend-level-host-header-set",
        ),
        pytest.param(
            _mesh(se_parent("cnn"), {"backendRefs": [hostname("*.cdn.example.net", 443)]}),
            RULES_POLICY,
            [B0],
            id="wildcard-hostname-not-required-still-forwards-the-asked-host",
        ),
        pytest.param(
            _mesh(se_parent("cnn"), {"backendRefs": [svc("cnn-egress-gateway-istio", 80)]}),
            RULES_POLICY,
            [B0],
            id="gateway-api-gateway-not-approved",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [hostname("api.github.com", 443)]}),
            RULES_POLICY,
            [B0],
            id="service-parent-straight-to-required-host",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {
                    "filters": [mirror(hostname("httpbin.org", 80))],
                    "backendRefs": [svc("web-v1", 80)],
                },
            ),
            RULES_POLICY,
            [MIRROR],
            id="service-parent-mirrors-to-required-host",
        ),
        pytest.param(
            _mesh(
                service_parent("web", port=5432),
                {"backendRefs": [to_gateway(5432)]},
                kind="TCPRoute",
            ),
            RULES_POLICY,
            [B0],
            id="service-parent-rides-the-egress-gateway-tcp-server",
        ),
        pytest.param(
            _mesh(service_parent("web"), {"backendRefs": [svc("cnn-egress-gateway-istio", 80)]}),
            CNN_POLICY,
            [B0],
            id="service-parent-to-a-gateway-api-egress-gateway",
        ),
        pytest.param(
            _mesh(
                service_parent("web"),
                {"filters": [mirror(to_gateway(80))], "backendRefs": [svc("web-v1", 80)]},
            ),
            RULES_POLICY,
            [MIRROR],
            id="service-parent-mirrors-to-the-egress-gateway",
        ),
        pytest.param(
            _mesh(
                service_parent("istio-egressgateway", "istio-system"),
                {"backendRefs": [svc("my-proxy", 3128)]},
            ),
            RULES_POLICY,
            ["spec.parentRefs[0].name"],
            id="captures-the-egress-gateway-service",
        ),
        pytest.param(
            _mesh(
                service_parent("cnn-egress-gateway-istio"), {"backendRefs": [svc("my-proxy", 3128)]}
            ),
            CNN_POLICY,
            ["spec.parentRefs[0].name"],
            id="captures-a-gateway-api-egress-gateway-service",
        ),
        pytest.param(
            route(
                "GRPCRoute",
                parentRefs=[se_parent("grpc-ext")],
                rules=[{"backendRefs": [hostname("pubsub.googleapis.com", 443)]}],
            ),
            RULES_POLICY,
            [B0],
            id="grpc-se-parent-straight-out",
        ),
    ],
)
def test_route_mesh_routing(obj: dict[str, Any], policy: CompiledPolicy, fields: list[str]) -> None:
    assert [v.field for v in findings(RULE, obj, policy)] == fields


def test_a_guarded_message_names_the_parent_and_the_gateway() -> None:
    obj = _mesh(
        se_parent("github", "istio-system"), {"backendRefs": [hostname("api.github.com", 443)]}
    )
    [violation] = findings(RULE, obj)
    assert violation.message == (
        'sends mesh traffic for the hosts of ServiceEntry "istio-system/github" to '
        '"api.github.com", around the egress gateway; send all of it to '
        '"istio-egressgateway.istio-system.svc.cluster.local" (or the "<name>-istio" Service '
        "of an approved egress Gateway: istio-system/istio-egressgateway)"
    )
