"""gateway-api-network: a tenant's Gateway API Gateway never becomes a cross-network gateway."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_api_objects import HBONE_LISTENER, gateway, hostname_address, ip_address
from tests.unit.istio_objects import RULES_POLICY, findings
from webhook.policy.rules.gateway_api_network import RULE

NETWORK = {"topology.istio.io/network": "network2"}
#: The listener Istio's multi-network docs give a Gateway API east-west gateway.
PASSTHROUGH = {
    "name": "tls-passthrough",
    "port": 15443,
    "protocol": "TLS",
    "tls": {"mode": "Passthrough"},
}


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        pytest.param(
            gateway(
                class_name="istio-remote",
                labels=NETWORK,
                listeners=[PASSTHROUGH],
                addresses=[ip_address("203.0.113.9")],
            ),
            "metadata.labels[topology.istio.io/network]",
            id="remote-gateway-at-an-external-ip",
        ),
        pytest.param(
            gateway(labels=NETWORK, listeners=[PASSTHROUGH]),
            "metadata.labels[topology.istio.io/network]",
            id="deployed-gateway-service-becomes-network-gateway",
        ),
        pytest.param(
            gateway(infrastructure={"labels": NETWORK}),
            "spec.infrastructure.labels[topology.istio.io/network]",
            id="infrastructure-label",
        ),
        # handleGatewayResource does not look at the class.
        pytest.param(
            gateway(
                class_name="some-other-controller",
                labels=NETWORK,
                listeners=[PASSTHROUGH],
                addresses=[ip_address("198.51.100.7")],
            ),
            "metadata.labels[topology.istio.io/network]",
            id="any-class",
        ),
        pytest.param(
            gateway(
                class_name="istio-east-west",
                labels=NETWORK,
                listeners=[
                    {
                        "name": "mesh",
                        "port": 15008,
                        "protocol": "HBONE",
                        "tls": {
                            "mode": "Terminate",
                            "options": {"gateway.istio.io/tls-terminate-mode": "ISTIO_MUTUAL"},
                        },
                    }
                ],
            ),
            "metadata.labels[topology.istio.io/network]",
            id="ambient-east-west-gateway",
        ),
        pytest.param(
            gateway(
                class_name="istio-remote",
                labels=NETWORK,
                listeners=[HBONE_LISTENER],
                addresses=[hostname_address("evil.example.com")],
            ),
            "metadata.labels[topology.istio.io/network]",
            id="hbone-at-a-host-name",
        ),
        pytest.param(
            gateway(
                labels={**NETWORK, "networking.istio.io/gatewayPort": "443"},
                listeners=[
                    {"name": "tls", "port": 443, "protocol": "TLS", "tls": {"mode": "Passthrough"}}
                ],
                addresses=[ip_address("203.0.113.9")],
            ),
            "metadata.labels[topology.istio.io/network]",
            id="custom-gateway-port",
        ),
    ],
)
def test_refused(obj: dict[str, Any], field: str) -> None:
    [violation] = findings(RULE, obj, RULES_POLICY)
    assert violation.field == field
    assert "network2" in violation.message


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(
            gateway(class_name="istio-east-west", listeners=[HBONE_LISTENER]),
            id="east-west-without-label",
        ),
        pytest.param(
            gateway(
                class_name="istio-remote",
                addresses=[ip_address("203.0.113.9")],
                listeners=[PASSTHROUGH],
            ),
            id="remote-without-label",
        ),
        pytest.param(
            gateway("waypoint", class_name="istio-waypoint", listeners=[HBONE_LISTENER]),
            id="waypoint",
        ),
        pytest.param(gateway(labels={"topology.kubernetes.io/zone": "a"}), id="zone-label"),
        pytest.param(gateway(listeners=[PASSTHROUGH]), id="passthrough-listener-without-label"),
    ],
)
def test_admitted(obj: dict[str, Any]) -> None:
    assert findings(RULE, obj, RULES_POLICY) == []
