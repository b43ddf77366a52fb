"""VirtualService (networking.istio.io v1alpha3, v1beta1, v1), per istio/api's proto."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from webhook.resources.base import IstioSpec, any_field

#: The gateway name meaning "every sidecar in the mesh"; also the default when none is set.
MESH_GATEWAY = "mesh"


class PortSelector(IstioSpec):
    """Destination.port."""

    number: int | None = None


class Destination(IstioSpec):
    """Where a route, mirror or delegate sends traffic."""

    host: str = ""
    subset: str | None = None
    port: PortSelector | None = None


class HeaderOperations(IstioSpec):
    """Headers.HeaderOperations: set/add/remove."""

    set: dict[str, str] | None = None
    add: dict[str, str] | None = None
    remove: list[str] | None = None


class Headers(IstioSpec):
    """Header manipulation for requests and responses."""

    request: HeaderOperations | None = None
    response: HeaderOperations | None = None


class HTTPRouteDestination(IstioSpec):
    """One weighted destination of an HTTP route."""

    destination: Destination = Field(default_factory=Destination)
    weight: int | None = None
    headers: Headers | None = None


class RouteDestination(IstioSpec):
    """One weighted destination of a TLS or TCP route."""

    destination: Destination = Field(default_factory=Destination)
    weight: int | None = None


class HTTPMatchRequest(IstioSpec):
    """Conditions of an HTTP route; `gateways` overrides the VirtualService's gateways."""

    name: str | None = None
    uri: Any = any_field()
    scheme: Any = any_field()
    method: Any = any_field()
    authority: Any = any_field()
    headers: Any = any_field()
    port: int | None = None
    source_labels: dict[str, str] | None = Field(default=None, alias="sourceLabels")
    gateways: list[str] = Field(default_factory=list)
    query_params: Any = Field(default=None, alias="queryParams")
    ignore_uri_case: bool | None = Field(default=None, alias="ignoreUriCase")
    without_headers: Any = Field(default=None, alias="withoutHeaders")
    source_namespace: str | None = Field(default=None, alias="sourceNamespace")
    stat_prefix: str | None = Field(default=None, alias="statPrefix")


class L4Match(IstioSpec):
    """L4MatchAttributes: what a TCP route matches on (no sniHosts: TCP carries no name)."""

    destination_subnets: list[str] = Field(default_factory=list, alias="destinationSubnets")
    port: int | None = None
    source_labels: dict[str, str] | None = Field(default=None, alias="sourceLabels")
    gateways: list[str] = Field(default_factory=list)
    source_namespace: str | None = Field(default=None, alias="sourceNamespace")
    source_subnet: str | None = Field(default=None, alias="sourceSubnet")


class TLSMatch(IstioSpec):
    """TLSMatchAttributes: what a TLS route matches on, the SNI names first."""

    sni_hosts: list[str] = Field(default_factory=list, alias="sniHosts")
    destination_subnets: list[str] = Field(default_factory=list, alias="destinationSubnets")
    port: int | None = None
    source_labels: dict[str, str] | None = Field(default=None, alias="sourceLabels")
    gateways: list[str] = Field(default_factory=list)
    source_namespace: str | None = Field(default=None, alias="sourceNamespace")


class HTTPRewrite(IstioSpec):
    """Rewrites applied before forwarding; `authority` changes the Host the upstream sees."""

    uri: str | None = None
    authority: str | None = None
    uri_regex_rewrite: Any = Field(default=None, alias="uriRegexRewrite")


class HTTPMirrorPolicy(IstioSpec):
    """One entry of `mirrors`."""

    destination: Destination = Field(default_factory=Destination)
    percentage: Any = any_field()


class Delegate(IstioSpec):
    """A reference to another VirtualService that holds the routes."""

    name: str | None = None
    namespace: str | None = None


class HTTPRoute(IstioSpec):
    """One HTTP route; only the fields that send bytes somewhere are typed."""

    name: str | None = None
    match: list[HTTPMatchRequest] = Field(default_factory=list)
    route: list[HTTPRouteDestination] = Field(default_factory=list)
    redirect: Any = any_field()
    direct_response: Any = Field(default=None, alias="directResponse")
    delegate: Delegate | None = None
    rewrite: HTTPRewrite | None = None
    timeout: Any = any_field()
    retries: Any = any_field()
    fault: Any = any_field()
    mirror: Destination | None = None
    mirrors: list[HTTPMirrorPolicy] = Field(default_factory=list)
    mirror_percent: Any = Field(default=None, alias="mirrorPercent")
    mirror_percent_legacy: Any = Field(default=None, alias="mirror_percent")
    mirror_percentage: Any = Field(default=None, alias="mirrorPercentage")
    cors_policy: Any = Field(default=None, alias="corsPolicy")
    headers: Headers | None = None


class TCPRoute(IstioSpec):
    """One TCP route."""

    match: list[L4Match] = Field(default_factory=list)
    route: list[RouteDestination] = Field(default_factory=list)


class TLSRoute(IstioSpec):
    """One TLS route."""

    match: list[TLSMatch] = Field(default_factory=list)
    route: list[RouteDestination] = Field(default_factory=list)


#: A TLS or TCP route: both send to weighted destinations.
L4Route = TCPRoute | TLSRoute


class VirtualServiceSpec(IstioSpec):
    """VirtualService.spec."""

    hosts: list[str] = Field(default_factory=list)
    gateways: list[str] = Field(default_factory=list)
    http: list[HTTPRoute] = Field(default_factory=list)
    tls: list[TLSRoute] = Field(default_factory=list)
    tcp: list[TCPRoute] = Field(default_factory=list)
    export_to: list[str] | None = Field(default=None, alias="exportTo")
