"""Gateway API routes (gateway.networking.k8s.io): HTTPRoute, GRPCRoute, TLSRoute, TCPRoute.

Versions are those the Gateway API v1.4.0 CRDs serve (the release Istio 1.28 builds
against; TLSRoute and TCPRoute are in the experimental channel). Istio 1.28 reads
HTTPRoute v1beta1/v1, GRPCRoute v1, TLSRoute and TCPRoute v1alpha2
(pkg/config/schema/metadata.yaml); TLSRoute v1alpha3 is the same object served at the
storage version, so it is checked too. UDPRoute is not listed: Istio converts no UDP routes.

Gateway API v1.5 made TLSRoute v1 standard (v1.6 TCPRoute v1); its standard channel no
longer serves their alpha versions, so a route written there reaches the API server (and
the webhook, through matchPolicy Equivalent) only as v1, with the same schema. Istio reads
TLSRoute v1 since 1.30 and TCPRoute v1 since 1.31 (gvk.TLSRoute, gvk.TCPRoute in
pkg/config/schema/gvk/resources.gen.go): v1 is checked too, listed last so the cluster
view keeps reading the version older CRDs serve.
"""

from __future__ import annotations

from pydantic import BaseModel

from webhook.policy.gateway_routes import GatewayRouteSubject
from webhook.policy.registry import Kind
from webhook.policy.rules import (
    coverage_kept,
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
    coverage_kept.check_route,
)


def _route(
    kind: str, versions: tuple[str, ...], resource: str, model: type[BaseModel]
) -> Kind[GatewayRouteSubject]:
    """A Gateway API route kind: the routes differ only in name, versions and spec model."""
    return Kind(
        kind=kind,
        group=GATEWAY_API_GROUP,
        versions=versions,
        resource=resource,
        model=model,
        subject=GatewayRouteSubject,
        rules=RULES,
        # With a cluster view, deleting a route attached to a ServiceEntry may uncover it.
        operations=("CREATE", "UPDATE", "DELETE"),
        delete_rules=(coverage_kept.check_route,),
    )


HTTP_ROUTE = _route("HTTPRoute", ("v1", "v1beta1"), "httproutes", HTTPRouteSpec)
GRPC_ROUTE = _route("GRPCRoute", ("v1",), "grpcroutes", HTTPRouteSpec)
TLS_ROUTE = _route("TLSRoute", ("v1alpha2", "v1alpha3", "v1"), "tlsroutes", TLSRouteSpec)
TCP_ROUTE = _route("TCPRoute", ("v1alpha2", "v1"), "tcproutes", TCPRouteSpec)

#: In registry order.
KINDS = (HTTP_ROUTE, GRPC_ROUTE, TLS_ROUTE, TCP_ROUTE)
