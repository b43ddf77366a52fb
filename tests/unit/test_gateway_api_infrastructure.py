"""gateway-api-infrastructure: a Gateway's deployed pods never pass for the egress pods."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.gateway_api_objects import CNN_LISTENER, HBONE_LISTENER, gateway
from tests.unit.gateway_route_objects import CNN_POLICY, CNN_POLICY_YAML
from tests.unit.istio_objects import GATEWAY, RULES_POLICY, findings
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.gateway_api_infrastructure import RULE

#: Ambient: istio-egress/egress-waypoint is an approved egress waypoint.
WAYPOINT_POLICY: CompiledPolicy = policy_from(
    CNN_POLICY_YAML.replace(
        "egressGateway:\n", "egressGateway:\n  waypoints: [istio-egress/egress-waypoint]\n"
    )
)


def _infra(**infrastructure: Any) -> dict[str, Any]:
    return gateway(infrastructure=infrastructure)


@pytest.mark.parametrize(
    ("obj", "policy", "field"),
    [
        # Doors: the deployed pods carry the egress gateway's labels.
        pytest.param(
            _infra(labels={"istio": "egressgateway"}),
            RULES_POLICY,
            "spec.infrastructure.labels[istio]",
            id="infrastructure-label-istio-egressgateway",
        ),
        pytest.param(
            _infra(labels={"app": "istio-egressgateway", "team": "a"}),
            RULES_POLICY,
            "spec.infrastructure.labels[app]",
            id="infrastructure-label-app",
        ),
        pytest.param(
            gateway(labels={"istio": "egressgateway"}),
            RULES_POLICY,
            "metadata.labels[istio]",
            id="own-label-copied-to-the-pods",
        ),
        pytest.param(
            gateway(
                "cnn-egress-gateway",
                listeners=[CNN_LISTENER],
                infrastructure={"labels": {"istio": "egressgateway"}},
            ),
            CNN_POLICY,
            "spec.infrastructure.labels[istio]",
            id="approved-gateway-too",
        ),
        pytest.param(
            gateway(
                "wp",
                class_name="istio-waypoint",
                listeners=[HBONE_LISTENER],
                labels={"istio": "egressgateway"},
            ),
            RULES_POLICY,
            "metadata.labels[istio]",
            id="waypoint-pods",
        ),
        # Doors: routing keys put on the pods and Service.
        pytest.param(
            _infra(annotations={"internal.istio.io/gateway-service": GATEWAY}),
            RULES_POLICY,
            "spec.infrastructure.annotations[internal.istio.io/gateway-service]",
            id="internal-annotation",
        ),
        pytest.param(
            _infra(labels={"istio.io/use-waypoint": "my-waypoint"}),
            RULES_POLICY,
            "spec.infrastructure.labels[istio.io/use-waypoint]",
            id="unapproved-waypoint",
        ),
        pytest.param(
            _infra(labels={"istio.io/use-waypoint": "egress-waypoint"}),
            WAYPOINT_POLICY,
            "spec.infrastructure.labels[istio.io/use-waypoint]",
            id="approved-name-in-the-wrong-namespace",
        ),
        pytest.param(
            _infra(labels={"istio.io/ingress-use-waypoint": "true"}),
            RULES_POLICY,
            "spec.infrastructure.labels[istio.io/ingress-use-waypoint]",
            id="ingress-use-waypoint",
        ),
        pytest.param(
            _infra(labels={"istio.io/use-waypoint-namespace": "istio-egress"}),
            RULES_POLICY,
            "spec.infrastructure.labels[istio.io/use-waypoint-namespace]",
            id="waypoint-namespace-alone",
        ),
        pytest.param(
            _infra(labels={"istio.io/use-waypoint-canary": "my-waypoint"}),
            RULES_POLICY,
            "spec.infrastructure.labels[istio.io/use-waypoint-canary]",
            id="canary-waypoint",  # buildWeightedWaypoints: up to every connection
        ),
        pytest.param(
            _infra(labels={"istio.io/use-waypoint-canary-namespace": "istio-egress"}),
            RULES_POLICY,
            "spec.infrastructure.labels[istio.io/use-waypoint-canary-namespace]",
            id="canary-waypoint-namespace-alone",
        ),
    ],
)
def test_refused(obj: dict[str, Any], policy: CompiledPolicy, field: str) -> None:
    [violation] = findings(RULE, obj, policy)
    assert violation.field == field


@pytest.mark.parametrize(
    ("obj", "policy"),
    [
        # infrastructure.labels replace the Gateway's own (extractInfrastructureMetadata).
        pytest.param(
            gateway(labels={"istio": "egressgateway"}, infrastructure={"labels": {"app": "gw"}}),
            RULES_POLICY,
            id="own-labels-not-copied-when-infrastructure-has-labels",
        ),
        pytest.param(gateway(labels={"istio": "ingressgateway"}), RULES_POLICY, id="ingress-label"),
        pytest.param(
            _infra(
                labels={"team": "payments"},
                annotations={
                    "networking.istio.io/service-type": "ClusterIP",
                    "proxy.istio.io/config": '{"concurrency": 2}',
                },
            ),
            RULES_POLICY,
            id="ordinary-infrastructure-metadata",
        ),
        pytest.param(
            _infra(
                labels={
                    "istio.io/use-waypoint": "egress-waypoint",
                    "istio.io/use-waypoint-namespace": "istio-egress",
                }
            ),
            WAYPOINT_POLICY,
            id="approved-egress-waypoint",
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
            gateway(
                "cnn-egress-gateway",
                listeners=[CNN_LISTENER],
                annotations={"networking.istio.io/service-type": "ClusterIP"},
            ),
            CNN_POLICY,
            id="egress-gateway-task",
        ),
    ],
)
def test_admitted(obj: dict[str, Any], policy: CompiledPolicy) -> None:
    assert findings(RULE, obj, policy) == []
