"""Sidecar (networking.istio.io v1alpha3, v1beta1, v1), per istio/api's sidecar.proto."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from webhook.resources.base import IstioSpec, any_field

#: OutboundTrafficPolicy.Mode; the proto default (0) is REGISTRY_ONLY.
OutboundMode = Literal["REGISTRY_ONLY", "ALLOW_ANY"]
CaptureMode = Literal["DEFAULT", "IPTABLES", "NONE"]


class SidecarPort(IstioSpec):
    """SidecarPort: a listener's port and protocol (number 0 with a unix bind is a socket)."""

    number: int | None = None
    protocol: str | None = None
    name: str | None = None
    target_port: int | None = Field(default=None, alias="targetPort")


class PortSelector(IstioSpec):
    """PortSelector of egressProxy."""

    number: int | None = None


class EgressProxy(IstioSpec):
    """OutboundTrafficPolicy.egressProxy: a Destination unknown traffic is sent to."""

    host: str = ""
    subset: str | None = None
    port: PortSelector | None = None


class OutboundTrafficPolicy(IstioSpec):
    """What the selected sidecars do with traffic to hosts outside the registry."""

    mode: OutboundMode | None = None
    egress_proxy: EgressProxy | None = Field(default=None, alias="egressProxy")


class EgressListener(IstioSpec):
    """IstioEgressListener: which hosts the sidecar imports, on which port and address."""

    hosts: list[str] = Field(default_factory=list)
    port: SidecarPort | None = None
    bind: str | None = None
    capture_mode: CaptureMode | None = Field(default=None, alias="captureMode")


class IngressListener(IstioSpec):
    """IstioIngressListener: inbound only (defaultEndpoint is the local application)."""

    port: SidecarPort | None = None
    bind: str | None = None
    capture_mode: CaptureMode | None = Field(default=None, alias="captureMode")
    default_endpoint: str | None = Field(default=None, alias="defaultEndpoint")
    tls: object = any_field()
    connection_pool: object = Field(default=None, alias="connectionPool")


class WorkloadSelector(IstioSpec):
    """The pods (by labels) the Sidecar applies to; absent means every pod in the namespace."""

    labels: dict[str, str] = Field(default_factory=dict)


class SidecarSpec(IstioSpec):
    """Sidecar.spec."""

    workload_selector: WorkloadSelector | None = Field(default=None, alias="workloadSelector")
    ingress: list[IngressListener] = Field(default_factory=list)
    egress: list[EgressListener] = Field(default_factory=list)
    outbound_traffic_policy: OutboundTrafficPolicy | None = Field(
        default=None, alias="outboundTrafficPolicy"
    )
    inbound_connection_pool: object = Field(default=None, alias="inboundConnectionPool")
