"""Gateway API Gateway (gateway.networking.k8s.io): the pods Istio deploys or binds for it.

Versions are those the Gateway API v1.4.0 CRDs serve; Istio 1.28 reads v1beta1 with v1
and v1alpha2 as aliases (pkg/config/schema/metadata.yaml), and the v1.4.0 CRD no longer
serves v1alpha2. Routes attached to a Gateway are judged as routes (route-gateway-routing).
"""

from __future__ import annotations

from webhook.policy.gateway_api_gateways import GatewayApiGatewaySubject
from webhook.policy.registry import Kind
from webhook.policy.rules import (
    gateway_api_infrastructure,
    gateway_api_network,
    gateway_api_service,
    routing_labels,
)
from webhook.resources.gateway_api_gateway import GatewayApiGatewaySpec
from webhook.resources.gateway_route import GATEWAY_API_GROUP

KIND = Kind(
    kind="Gateway",
    group=GATEWAY_API_GROUP,
    versions=("v1", "v1beta1"),
    resource="gateways",
    model=GatewayApiGatewaySpec,
    subject=GatewayApiGatewaySubject,
    rules=(
        gateway_api_service.check,
        gateway_api_infrastructure.check,
        gateway_api_network.check,
        routing_labels.check,
    ),
)
