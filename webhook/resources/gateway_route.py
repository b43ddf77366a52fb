"""Gateway API routes (gateway.networking.k8s.io HTTPRoute, GRPCRoute, TLSRoute, TCPRoute), v1.4.

Fields follow sigs.k8s.io/gateway-api v1.4.0 (the release Istio 1.28 builds against),
experimental channel. Defaults are the CRD's (the API server applies them before
admission): a parentRef is a ``gateway.networking.k8s.io`` ``Gateway`` unless it says
otherwise, a backendRef a core ``Service``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from webhook.resources.base import IstioSpec, any_field

GATEWAY_API_GROUP = "gateway.networking.k8s.io"


class GatewayApiSpec(IstioSpec):
    """Closed like Istio's specs: a field we do not know could route traffic we cannot see."""


class ParentRef(GatewayApiSpec):
    """ParentReference: where the route attaches (a Gateway, or a Service/ServiceEntry: GAMMA)."""

    group: str = GATEWAY_API_GROUP
    kind: str = "Gateway"
    name: str
    namespace: str | None = None
    section_name: str | None = Field(default=None, alias="sectionName")
    port: int | None = None


class BackendObjectRef(GatewayApiSpec):
    """BackendObjectReference: a Service by default; Istio also reads a Hostname."""

    group: str = ""
    kind: str = "Service"
    name: str
    namespace: str | None = None
    port: int | None = None


class Header(GatewayApiSpec):
    """HTTPHeader: one header name and value."""

    name: str
    value: str


class HeaderModifier(GatewayApiSpec):
    """HTTPHeaderFilter: set, add, remove."""

    set: list[Header] = Field(default_factory=list)
    add: list[Header] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class RequestMirror(GatewayApiSpec):
    """HTTPRequestMirrorFilter: a copy of each request goes to `backendRef`."""

    backend_ref: BackendObjectRef = Field(alias="backendRef")
    percent: int | None = None
    fraction: dict[str, Any] | None = None


class URLRewrite(GatewayApiSpec):
    """HTTPURLRewriteFilter; `hostname` becomes Istio's rewrite.authority."""

    hostname: str | None = None
    path: dict[str, Any] | None = None


class ExternalAuth(GatewayApiSpec):
    """HTTPExternalAuthFilter (experimental): each request is also sent to `backendRef`."""

    backend_ref: BackendObjectRef = Field(alias="backendRef")
    protocol: str | None = None
    grpc: dict[str, Any] | None = None
    http: dict[str, Any] | None = None
    forward_body: dict[str, Any] | None = Field(default=None, alias="forwardBody")


class Filter(GatewayApiSpec):
    """HTTPRouteFilter / GRPCRouteFilter."""

    type: str
    request_header_modifier: HeaderModifier | None = Field(
        default=None, alias="requestHeaderModifier"
    )
    response_header_modifier: Any = Field(default=None, alias="responseHeaderModifier")
    request_mirror: RequestMirror | None = Field(default=None, alias="requestMirror")
    request_redirect: Any = Field(default=None, alias="requestRedirect")
    url_rewrite: URLRewrite | None = Field(default=None, alias="urlRewrite")
    cors: Any = any_field()
    extension_ref: Any = Field(default=None, alias="extensionRef")
    external_auth: ExternalAuth | None = Field(default=None, alias="externalAuth")


class BackendRef(BackendObjectRef):
    """BackendRef of a TLS or TCP route: an object reference with a weight."""

    weight: int | None = None


class HTTPBackendRef(BackendRef):
    """HTTPBackendRef / GRPCBackendRef: a weighted backend with its own filters."""

    filters: list[Filter] = Field(default_factory=list)


class HTTPRouteRule(GatewayApiSpec):
    """HTTPRouteRule (GRPCRouteRule has a subset of these fields)."""

    name: str | None = None
    matches: Any = any_field()
    filters: list[Filter] = Field(default_factory=list)
    backend_refs: list[HTTPBackendRef] = Field(default_factory=list, alias="backendRefs")
    timeouts: Any = any_field()
    retry: Any = any_field()
    session_persistence: Any = Field(default=None, alias="sessionPersistence")


class L4RouteRule(GatewayApiSpec):
    """TLSRouteRule / TCPRouteRule: backends only."""

    name: str | None = None
    backend_refs: list[BackendRef] = Field(default_factory=list, alias="backendRefs")


class RouteSpec(GatewayApiSpec):
    """What every route kind has: its parents; subclasses add hostnames and rules."""

    parent_refs: list[ParentRef] = Field(default_factory=list, alias="parentRefs")
    use_default_gateways: str | None = Field(default=None, alias="useDefaultGateways")

    @property
    def route_hostnames(self) -> list[str]:
        """spec.hostnames (a TCP route has none)."""
        return []

    @property
    def route_rules(self) -> Sequence[HTTPRouteRule | L4RouteRule]:
        """spec.rules."""
        return []


class HTTPRouteSpec(RouteSpec):
    """HTTPRoute.spec (v1, v1beta1) and GRPCRoute.spec (v1)."""

    hostnames: list[str] = Field(default_factory=list)
    rules: list[HTTPRouteRule] = Field(default_factory=list)

    @property
    def route_hostnames(self) -> list[str]:
        """spec.hostnames."""
        return self.hostnames

    @property
    def route_rules(self) -> list[HTTPRouteRule]:
        """spec.rules."""
        return self.rules


class TLSRouteSpec(RouteSpec):
    """TLSRoute.spec (v1alpha2, v1alpha3)."""

    hostnames: list[str] = Field(default_factory=list)
    rules: list[L4RouteRule] = Field(default_factory=list)

    @property
    def route_hostnames(self) -> list[str]:
        """spec.hostnames."""
        return self.hostnames

    @property
    def route_rules(self) -> list[L4RouteRule]:
        """spec.rules."""
        return self.rules


class TCPRouteSpec(RouteSpec):
    """TCPRoute.spec (v1alpha2)."""

    rules: list[L4RouteRule] = Field(default_factory=list)

    @property
    def route_rules(self) -> list[L4RouteRule]:
        """spec.rules."""
        return self.rules
