"""EnvoyFilter (networking.istio.io v1alpha3), per istio/api networking/v1alpha3/envoy_filter.proto.

`patch.value` is raw Envoy configuration (a google.protobuf.Struct): it is kept as JSON
and judged by walking it, since any typed_config can sit under any key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from webhook.resources.base import IstioSpec

ApplyTo = Literal[
    "INVALID",
    "LISTENER",
    "FILTER_CHAIN",
    "NETWORK_FILTER",
    "HTTP_FILTER",
    "ROUTE_CONFIGURATION",
    "VIRTUAL_HOST",
    "HTTP_ROUTE",
    "CLUSTER",
    "EXTENSION_CONFIG",
    "BOOTSTRAP",
    "LISTENER_FILTER",
]
#: PatchContext; the proto default (0) is ANY: every sidecar listener, both ways, and gateways.
#: WAYPOINT (istio/api v1.30 networking/v1alpha3/envoy_filter.proto, with `match.waypoint`)
#: patches ambient waypoints, whose routes pick the upstream as a gateway's do.
PatchContext = Literal["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT"]
Operation = Literal[
    "INVALID", "MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE"
]
DEFAULT_CONTEXT = "ANY"


class ProxyMatch(IstioSpec):
    """Match.proxy: proxy version and node metadata."""

    proxy_version: str | None = Field(default=None, alias="proxyVersion")
    metadata: dict[str, str] | None = None


class SubFilterMatch(IstioSpec):
    """A filter within a filter (an HTTP filter inside the HTTP connection manager)."""

    name: str | None = None


class FilterMatch(IstioSpec):
    """A network filter of a filter chain."""

    name: str | None = None
    sub_filter: SubFilterMatch | None = Field(default=None, alias="subFilter")


class FilterChainMatch(IstioSpec):
    """A filter chain of a listener."""

    name: str | None = None
    sni: str | None = None
    transport_protocol: str | None = Field(default=None, alias="transportProtocol")
    application_protocols: str | None = Field(default=None, alias="applicationProtocols")
    filter: FilterMatch | None = None
    destination_port: int | None = Field(default=None, alias="destinationPort")


class ListenerMatch(IstioSpec):
    """Match.listener."""

    port_number: int | None = Field(default=None, alias="portNumber")
    port_name: str | None = Field(default=None, alias="portName")
    filter_chain: FilterChainMatch | None = Field(default=None, alias="filterChain")
    listener_filter: str | None = Field(default=None, alias="listenerFilter")
    name: str | None = None


class RouteMatch(IstioSpec):
    """A route of a virtual host."""

    name: str | None = None
    action: Literal["ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE"] | None = None


class VirtualHostMatch(IstioSpec):
    """A virtual host of a route configuration."""

    name: str | None = None
    domain_name: str | None = Field(default=None, alias="domainName")
    route: RouteMatch | None = None


class RouteConfigurationMatch(IstioSpec):
    """Match.routeConfiguration."""

    port_number: int | None = Field(default=None, alias="portNumber")
    port_name: str | None = Field(default=None, alias="portName")
    gateway: str | None = None
    vhost: VirtualHostMatch | None = None
    name: str | None = None


class ClusterMatch(IstioSpec):
    """Match.cluster."""

    port_number: int | None = Field(default=None, alias="portNumber")
    service: str | None = None
    subset: str | None = None
    name: str | None = None


class WaypointRouteMatch(IstioSpec):
    """WaypointMatch.route: a route of the waypoint, by name."""

    name: str | None = None


class WaypointMatch(IstioSpec):
    """Match.waypoint (context WAYPOINT only, by the CRD's CEL rule): a filter, port or route.

    It only narrows where on a waypoint a patch lands (route_patch.go `hasRouteMatch`
    reads `route`); where that placement may redirect bytes is envoy-filter-patches'
    verdict on applyTo and context, whatever this says.
    """

    filter: FilterMatch | None = None
    port_number: int | None = Field(default=None, alias="portNumber")
    route: WaypointRouteMatch | None = None


class ObjectMatch(IstioSpec):
    """EnvoyConfigObjectMatch: where a patch applies."""

    context: PatchContext | None = None
    proxy: ProxyMatch | None = None
    listener: ListenerMatch | None = None
    route_configuration: RouteConfigurationMatch | None = Field(
        default=None, alias="routeConfiguration"
    )
    cluster: ClusterMatch | None = None
    waypoint: WaypointMatch | None = None


class Patch(IstioSpec):
    """Patch: the operation and the raw Envoy value."""

    operation: Operation | None = None
    value: dict[str, Any] | None = None
    filter_class: Literal["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] | None = Field(
        default=None, alias="filterClass"
    )


class ConfigPatch(IstioSpec):
    """EnvoyConfigObjectPatch."""

    apply_to: ApplyTo | None = Field(default=None, alias="applyTo")
    match: ObjectMatch | None = None
    patch: Patch | None = None

    @property
    def context(self) -> str:
        """match.context, or its proto default ANY (also when match is omitted)."""
        return (self.match.context if self.match else None) or DEFAULT_CONTEXT


class WorkloadSelector(IstioSpec):
    """The pods (by labels) the filter applies to; absent means every proxy in the namespace."""

    labels: dict[str, str] = Field(default_factory=dict)


class PolicyTargetReference(IstioSpec):
    """targetRefs[]: narrows which proxies (a Gateway, a waypoint Service) get the patches."""

    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class EnvoyFilterSpec(IstioSpec):
    """EnvoyFilter.spec."""

    workload_selector: WorkloadSelector | None = Field(default=None, alias="workloadSelector")
    target_refs: list[PolicyTargetReference] = Field(default_factory=list, alias="targetRefs")
    config_patches: list[ConfigPatch] = Field(default_factory=list, alias="configPatches")
    priority: int | None = None
