"""Gateway API routes (gateway.networking.k8s.io): HTTPRoute, GRPCRoute, TLSRoute, TCPRoute.

Versions are those the Gateway API v1.4.0 CRDs serve (the release Istio 1.28 builds
against; TLSRoute and TCPRoute are in the experimental channel). Istio 1.28 reads
HTTPRoute v1beta1/v1, GRPCRoute v1, TLSRoute and TCPRoute v1alpha2
(pkg/config/schema/metadata.yaml); TLSRoute v1alpha3 is the same object served at the
storage version, so it is checked too. UDPRoute is not listed: Istio converts no UDP routes.
"""

from __future__ import annotations

from webhook.policy.gateway_routes import GatewayRouteSubject
from webhook.policy.registry import Kind
from webhook.policy.rules import (
    route_backends,
    route_gateway_routing,
    route_mesh_routing,
    routing_labels,
)
from webhook.resources.gateway_route import (
    GATEWAY_API_GROUP,
    HTTPRouteSpec,
    TCPRouteSpec,
    TLSRouteSpec,
)

RULES = (
    route_mesh_routing.check,
    route_gateway_routing.check,
    route_backends.check,
    routing_labels.check,
)

HTTP_ROUTE = Kind(
    kind="HTTPRoute",
    group=GATEWAY_API_GROUP,
    versions=("v1", "v1beta1"),
    resource="httproutes",
    model=HTTPRouteSpec,
    subject=GatewayRouteSubject,
    rules=RULES,
)

GRPC_ROUTE = Kind(
    kind="GRPCRoute",
    group=GATEWAY_API_GROUP,
    versions=("v1",),
    resource="grpcroutes",
    model=HTTPRouteSpec,
    subject=GatewayRouteSubject,
    rules=RULES,
)

TLS_ROUTE = Kind(
    kind="TLSRoute",
    group=GATEWAY_API_GROUP,
    versions=("v1alpha2", "v1alpha3"),
    resource="tlsroutes",
    model=TLSRouteSpec,
    subject=GatewayRouteSubject,
    rules=RULES,
)

TCP_ROUTE = Kind(
    kind="TCPRoute",
    group=GATEWAY_API_GROUP,
    versions=("v1alpha2",),
    resource="tcproutes",
    model=TCPRouteSpec,
    subject=GatewayRouteSubject,
    rules=RULES,
)

#: In registry order.
KINDS = (HTTP_ROUTE, GRPC_ROUTE, TLS_ROUTE, TCP_ROUTE)
