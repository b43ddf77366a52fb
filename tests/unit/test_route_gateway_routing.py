"""route-gateway-routing: only approved egress Gateways forward outside, to allowlisted hosts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_route_objects import (
    CNN_POLICY,
    gateway_parent,
    hostname,
    route,
    set_host,
    svc,
    to_gateway,
    url_rewrite_host,
    url_rewrite_path,
)
from tests.unit.istio_objects import RULES_POLICY, findings
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.route_gateway_routing import RULE

B0 = "spec.rules[0].backendRefs[0].name"
CNN = gateway_parent("cnn-egress-gateway")


def _at(parent: dict[str, Any], *rules: dict[str, Any], **spec: Any) -> dict[str, Any]:
    kind = spec.pop("kind", "HTTPRoute")
    return route(kind, parentRefs=[parent], rules=list(rules), **spec)


@pytest.mark.parametrize(
    ("obj", "policy", "fields"),
    [
        # Ordinary.
        pytest.param(
            _at(
                CNN,
                {"backendRefs": [hostname("edition.cnn.com", 80)]},
                hostnames=["edition.cnn.com"],
                api_version="gateway.networking.k8s.io/v1beta1",
            ),
            CNN_POLICY,
            [],
            id="egress-gateway-task-gateway-leg",
        ),
        pytest.param(
            _at(
                CNN,
                {"backendRefs": [hostname("edition.cnn.com", 443)]},
                hostnames=["edition.cnn.com"],
                kind="TLSRoute",
            ),
            CNN_POLICY,
            [],
            id="egress-gateway-task-tls-passthrough-leg",
        ),
        pytest.param(
            _at(
                {"name": "gateway"},
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/status"}}],
                    "backendRefs": [svc("httpbin", 8000)],
                },
                hostnames=["httpbin.example.com"],
            ),
            RULES_POLICY,
            [],
            id="ingress-task-tenant-gateway-to-service",
        ),
        pytest.param(
            _at(gateway_parent("shared-ingress", "ingress"), {"backendRefs": [svc("shop", 8080)]}),
            RULES_POLICY,
            [],
            id="shared-ingress-to-own-service",
        ),
        # Bypasses.
        pytest.param(
            _at({"name": "gw"}, {"backendRefs": [hostname("api.github.com", 443)]}),
            RULES_POLICY,
            [B0],
            id="tenant-gateway-forwards-straight-out",
        ),
        pytest.param(
            _at(
                gateway_parent("shared-ingress", "ingress"),
                {"backendRefs": [hostname("api.github.com", 443)]},
                hostnames=["shop.example.com"],
            ),
            RULES_POLICY,
            [B0],
            id="shared-ingress-turned-egress",
        ),
        pytest.param(
            _at(CNN, {"backendRefs": [hostname("edition.cnn.com", 80)]}),
            RULES_POLICY,
            [B0],
            id="gateway-api-egress-gateway-not-approved",
        ),
        pytest.param(
            _at(
                CNN,
                {"backendRefs": [hostname("edition.cnn.com", 80)]},
                hostnames=["*.com"],
            ),
            CNN_POLICY,
            ["spec.hostnames[0]"],
            id="wildcard-hostname-overlapping-at-egress-gateway",
        ),
        pytest.param(
            _at(CNN, {"backendRefs": [svc("internal-db", 5432)]}, hostnames=["edition.cnn.com"]),
            CNN_POLICY,
            [B0],
            id="egress-gateway-back-into-the-cluster",
        ),
        pytest.param(
            _at(
                CNN,
                {
                    "filters": [url_rewrite_host("evil.example.org")],
                    "backendRefs": [hostname("edition.cnn.com", 80)],
                },
                hostnames=["edition.cnn.com"],
            ),
            CNN_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.hostname"],
            id="host-rewrite-at-egress-gateway",
        ),
        pytest.param(
            _at(
                CNN,
                {
                    "filters": [set_host("evil.example.org")],
                    "backendRefs": [hostname("edition.cnn.com", 80)],
                },
                hostnames=["edition.cnn.com"],
            ),
            CNN_POLICY,
            ["spec.rules[0].filters[0].requestHeaderModifier.set[0].value"],
            id="host-header-at-egress-gateway",
        ),
        pytest.param(
            _at(
                CNN,
                {
                    "filters": [url_rewrite_path("ReplaceFullPath", "http://evil.example.org/x")],
                    "backendRefs": [hostname("edition.cnn.com", 80)],
                },
                hostnames=["edition.cnn.com"],
            ),
            CNN_POLICY,
            ["spec.rules[0].filters[0].urlRewrite.path.replaceFullPath"],
            id="full-path-rewrite-to-absolute-url-at-egress-gateway",
        ),
        pytest.param(
            _at(
                CNN,
                {
                    "filters": [url_rewrite_path("ReplaceFullPath", "/v2/index.html")],
                    "backendRefs": [hostname("edition.cnn.com", 80)],
                },
                hostnames=["edition.cnn.com"],
            ),
            CNN_POLICY,
            [],
            id="full-path-rewrite-at-egress-gateway",
        ),
        pytest.param(
            _at(CNN, {"backendRefs": [hostname("edition.cnn.com", 80)]}),
            CNN_POLICY,
            ["spec.hostnames"],
            id="no-hostnames-is-every-host-at-egress-gateway",
        ),
        pytest.param(
            _at(CNN, {"backendRefs": [hostname("edition.cnn.com", 443)]}, kind="TLSRoute"),
            CNN_POLICY,
            ["spec.hostnames"],
            id="tls-no-hostnames-is-every-sni-at-egress-gateway",
        ),
        pytest.param(
            _at(CNN, {"backendRefs": [hostname("edition.cnn.com", 443)]}, kind="TCPRoute"),
            CNN_POLICY,
            [],
            id="tcp-route-has-no-hostnames",
        ),
        pytest.param(
            _at(gateway_parent("my-gateway"), {"backendRefs": [to_gateway(5432)]}, kind="TCPRoute"),
            RULES_POLICY,
            [B0],
            id="tenant-gateway-tcp-rides-the-egress-gateway",
        ),
        pytest.param(
            _at(
                gateway_parent("my-gateway"),
                {"backendRefs": [to_gateway(80)]},
                hostnames=["web.example.org"],
            ),
            RULES_POLICY,
            ["spec.hostnames[0]"],
            id="tenant-gateway-sends-unlisted-host-to-the-egress-gateway",
        ),
        pytest.param(
            _at(
                gateway_parent("my-gateway"),
                {"backendRefs": [to_gateway(443)]},
                hostnames=["api.github.com"],
                kind="TLSRoute",
            ),
            RULES_POLICY,
            [],
            id="tenant-gateway-sends-allowlisted-host-to-the-egress-gateway",
        ),
        pytest.param(
            _at(
                {"group": "gateway.networking.x-k8s.io", "kind": "XListenerSet", "name": "ls"},
                {"backendRefs": [hostname("api.github.com", 443)]},
            ),
            RULES_POLICY,
            [B0],
            id="listener-set-gateway-out-of-view",
        ),
        pytest.param(
            route(
                useDefaultGateways="All", rules=[{"backendRefs": [hostname("api.github.com", 443)]}]
            ),
            RULES_POLICY,
            [B0],
            id="default-gateways-out-of-view",
        ),
        pytest.param(
            _at(
                gateway_parent("cnn-egress-gateway", "other"),
                {"backendRefs": [hostname("edition.cnn.com", 80)]},
            ),
            CNN_POLICY,
            [B0],
            id="same-name-other-namespace-not-approved",
        ),
    ],
)
def test_route_gateway_routing(
    obj: dict[str, Any], policy: CompiledPolicy, fields: list[str]
) -> None:
    assert [v.field for v in findings(RULE, obj, policy)] == fields


def test_the_message_names_the_gateway_and_the_approved_ones() -> None:
    obj = _at({"name": "gw"}, {"backendRefs": [hostname("api.github.com", 443)]})
    [violation] = findings(RULE, obj)
    assert violation.message == (
        'forwards to external host "api.github.com" at Gateway "default/gw", which is not an '
        "approved egress gateway (approved: istio-system/istio-egressgateway)"
    )
