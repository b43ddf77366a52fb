"""VirtualService (networking.istio.io v1alpha3, v1beta1, v1), per istio/api's proto."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from webhook.resources.base import IstioSpec

#: The gateway name meaning "every sidecar in the mesh"; also the default when none is set.
MESH_GATEWAY = "mesh"


#: The HTTP part of a VirtualService is by far its largest (a big API has hundreds of
#: routes) and only the engine's leg builder reads it: it is validated into plain dicts
#: (typed, closed) rather than model instances, at a third of the cost. Keys are the
#: JSON names; absent keys are absent (the leg builder supplies the defaults).
_CLOSED = ConfigDict(extra="forbid")


@with_config(_CLOSED)
class PortSelector(TypedDict, total=False):
    """Destination.port."""

    number: int | None


@with_config(_CLOSED)
class Destination(TypedDict, total=False):
    """Where a route, mirror or delegate sends traffic."""

    host: str
    subset: str | None
    port: PortSelector | None


@with_config(_CLOSED)
class HeaderOperations(TypedDict, total=False):
    """Headers.HeaderOperations: set/add/remove."""

    set: dict[str, str] | None
    add: dict[str, str] | None
    remove: list[str] | None


@with_config(_CLOSED)
class Headers(TypedDict, total=False):
    """Header manipulation for requests and responses."""

    request: HeaderOperations | None
    response: HeaderOperations | None


@with_config(_CLOSED)
class HTTPRouteDestination(TypedDict, total=False):
    """One weighted destination of an HTTP route."""

    destination: Destination
    weight: int | None
    headers: Headers | None


class RouteDestination(IstioSpec):
    """One weighted destination of a TLS or TCP route."""

    destination: Destination = Field(default_factory=lambda: Destination())
    weight: int | None = None


@with_config(_CLOSED)
class HTTPMatchRequest(TypedDict, total=False):
    """Conditions of an HTTP route; `gateways` overrides the VirtualService's gateways."""

    name: str | None
    uri: Any
    scheme: Any
    method: Any
    authority: Any
    headers: Any
    port: int | None
    sourceLabels: dict[str, str] | None
    gateways: list[str]
    queryParams: Any
    ignoreUriCase: bool | None
    withoutHeaders: Any
    sourceNamespace: str | None
    statPrefix: str | None


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


@with_config(_CLOSED)
class HTTPRewrite(TypedDict, total=False):
    """Rewrites applied before forwarding; `authority` changes the Host the upstream sees."""

    uri: str | None
    authority: str | None
    uriRegexRewrite: Any


@with_config(_CLOSED)
class HTTPMirrorPolicy(TypedDict, total=False):
    """One entry of `mirrors`."""

    destination: Destination
    percentage: Any


@with_config(_CLOSED)
class Delegate(TypedDict, total=False):
    """A reference to another VirtualService that holds the routes."""

    name: str | None
    namespace: str | None


@with_config(_CLOSED)
class HTTPRoute(TypedDict, total=False):
    """One HTTP route; only the fields that send bytes somewhere are typed."""

    name: str | None
    match: list[HTTPMatchRequest]
    route: list[HTTPRouteDestination]
    redirect: Any
    directResponse: Any
    delegate: Delegate | None
    rewrite: HTTPRewrite | None
    timeout: Any
    retries: Any
    fault: Any
    mirror: Destination | None
    mirrors: list[HTTPMirrorPolicy]
    mirrorPercent: Any
    mirror_percent: Any
    mirrorPercentage: Any
    corsPolicy: Any
    headers: Headers | None


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
