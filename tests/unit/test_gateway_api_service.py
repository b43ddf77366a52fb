"""gateway-api-service: a Gateway serves at an egress gateway Service exactly when approved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_api_objects import (
    CNN_LISTENER,
    HBONE_LISTENER,
    gateway,
    hostname_address,
    ip_address,
)
from tests.unit.gateway_route_objects import CNN_POLICY
from tests.unit.istio_objects import GATEWAY, RULES_POLICY, findings
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.gateway_api_service import RULE

OVERRIDE = "gateway.istio.io/name-override"
CNN_SVC = "cnn-egress-gateway-istio"


def _cnn(**kwargs: Any) -> dict[str, Any]:
    """The egress gateway task's Gateway (Gateway API tab), as written there."""
    annotations = {"networking.istio.io/service-type": "ClusterIP", **kwargs.pop("annotations", {})}
    kwargs.setdefault("version", "v1beta1")
    return gateway(
        "cnn-egress-gateway", listeners=[CNN_LISTENER], annotations=annotations, **kwargs
    )


@pytest.mark.parametrize(
    ("obj", "policy", "field", "fragment"),
    [
        # Doors: an unapproved Gateway on the egress gateway's pods or name.
        pytest.param(
            gateway(addresses=[hostname_address(GATEWAY)]),
            RULES_POLICY,
            "spec.addresses[0].value",
            "an egress gateway Service",
            id="manual-deployment-on-the-egress-gateway",
        ),
        pytest.param(
            gateway(addresses=[ip_address("10.96.0.10"), hostname_address(GATEWAY)]),
            RULES_POLICY,
            "spec.addresses[1].value",
            "bound by address",
            id="second-address-on-the-egress-gateway",
        ),
        pytest.param(
            gateway("other", addresses=[hostname_address(CNN_SVC)]),
            CNN_POLICY,
            "spec.addresses[0].value",
            f"{CNN_SVC}.default.svc.cluster.local",
            id="short-name-of-an-approved-gateways-service",
        ),
        pytest.param(
            gateway(
                "other",
                "payments",
                addresses=[hostname_address(f"{CNN_SVC}.default.svc.cluster.local")],
            ),
            CNN_POLICY,
            "spec.addresses[0].value",
            "not in egressGateway.gateways",
            id="another-namespaces-approved-gateway",
        ),
        pytest.param(
            gateway("other", annotations={OVERRIDE: CNN_SVC}),
            CNN_POLICY,
            f"metadata.annotations[{OVERRIDE}]",
            "renamed by name-override",
            id="name-override-takes-the-approved-name",
        ),
        pytest.param(
            gateway(CNN_SVC, class_name="istio-waypoint", listeners=[HBONE_LISTENER]),
            CNN_POLICY,
            "metadata.name",
            "deployed for it",
            id="waypoint-named-like-the-approved-service",
        ),
        # The agentgateway classes (PILOT_ENABLE_AGENTGATEWAY) deploy their Service under the
        # Gateway's own name too (ClassInfo.DisableNameSuffix, gatewaycommon/classinfo.go).
        pytest.param(
            gateway(CNN_SVC, class_name="istio-agentgateway"),
            CNN_POLICY,
            "metadata.name",
            f"{CNN_SVC}.default.svc.cluster.local",
            id="agentgateway-named-like-the-approved-service",
        ),
        pytest.param(
            gateway(CNN_SVC, class_name="istio-agentgateway-waypoint", listeners=[HBONE_LISTENER]),
            CNN_POLICY,
            "metadata.name",
            f"{CNN_SVC}.default.svc.cluster.local",
            id="agentgateway-waypoint-named-like-the-approved-service",
        ),
        # A GatewayClass out of view may name the waypoint controller: no suffix either.
        pytest.param(
            gateway(CNN_SVC, class_name="team-waypoints", listeners=[HBONE_LISTENER]),
            CNN_POLICY,
            "metadata.name",
            "unsuffixed controllers",
            id="custom-class-named-like-the-approved-service",
        ),
        # A GatewayClass "gateway-istio" of Istio's controller: <name>-<class> collides.
        pytest.param(
            gateway("cnn-egress", class_name="gateway-istio"),
            CNN_POLICY,
            "metadata.name",
            CNN_SVC,
            id="class-suffix-collision",
        ),
        # Doors: an approved Gateway moved off the Service mesh routes send to.
        pytest.param(
            _cnn(annotations={OVERRIDE: "my-proxy"}),
            CNN_POLICY,
            f"metadata.annotations[{OVERRIDE}]",
            "approved egress Gateway",
            id="approved-gateway-renamed",
        ),
        pytest.param(
            _cnn(addresses=[hostname_address("squid.default.svc.cluster.local")]),
            CNN_POLICY,
            "spec.addresses[0].value",
            "squid.default.svc.cluster.local",
            id="approved-gateway-bound-to-a-tenant-service",
        ),
        pytest.param(
            _cnn(class_name="istio-waypoint"),
            CNN_POLICY,
            "metadata.name",
            "cnn-egress-gateway.default.svc.cluster.local",
            id="approved-gateway-as-a-waypoint",
        ),
    ],
)
def test_refused(obj: dict[str, Any], policy: CompiledPolicy, field: str, fragment: str) -> None:
    [violation] = findings(RULE, obj, policy)
    assert violation.field == field
    assert fragment in violation.message


@pytest.mark.parametrize(
    ("obj", "policy"),
    [
        pytest.param(_cnn(), CNN_POLICY, id="egress-gateway-task-approved"),
        pytest.param(_cnn(), RULES_POLICY, id="egress-gateway-task-not-listed-is-an-ingress"),
        pytest.param(
            _cnn(addresses=[hostname_address(GATEWAY)]),
            CNN_POLICY,
            id="approved-gateway-on-the-central-egress-gateway",
        ),
        pytest.param(
            gateway(
                "gateway",
                "istio-ingress",
                listeners=[
                    {
                        "name": "http",
                        "hostname": "httpbin.example.com",
                        "port": 80,
                        "protocol": "HTTP",
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            ),
            RULES_POLICY,
            id="ingress-task-gateway",
        ),
        pytest.param(
            gateway(
                addresses=[hostname_address("istio-ingressgateway.istio-system.svc.cluster.local")]
            ),
            RULES_POLICY,
            id="manual-deployment-on-the-ingress-gateway",
        ),
        pytest.param(
            gateway(addresses=[ip_address("203.0.113.20")]), RULES_POLICY, id="load-balancer-ip"
        ),
        pytest.param(
            gateway(
                "waypoint",
                class_name="istio-waypoint",
                listeners=[HBONE_LISTENER],
                labels={"istio.io/waypoint-for": "service"},
            ),
            RULES_POLICY,
            id="ambient-waypoint",
        ),
        pytest.param(
            gateway("agentgateway", class_name="istio-agentgateway"),
            CNN_POLICY,
            id="agentgateway-of-its-own-name",
        ),
        pytest.param(
            gateway("cnn-egress-gateway", class_name="team-waypoints", listeners=[HBONE_LISTENER]),
            RULES_POLICY,
            id="custom-class-unlisted-gateway",
        ),
        pytest.param(
            gateway("cnn-egress-gateway", "payments"),
            CNN_POLICY,
            id="same-name-in-another-namespace",
        ),
        pytest.param(
            gateway(annotations={OVERRIDE: "my-gateway", "gateway.istio.io/service-account": "gw"}),
            CNN_POLICY,
            id="name-override-elsewhere",
        ),
    ],
)
def test_admitted(obj: dict[str, Any], policy: CompiledPolicy) -> None:
    assert findings(RULE, obj, policy) == []
