"""Gateway API Gateway (gateway.networking.k8s.io v1, v1beta1), v1.4.0 experimental channel.

Not Istio's Gateway (networking.istio.io): that is another group. Fields follow
sigs.k8s.io/gateway-api v1.4.0 (the release Istio 1.28 builds against). Those Istio
reads to decide which pods serve the Gateway and where they are reached (class,
addresses, infrastructure metadata, listeners) are modelled; the rest (TLS
certificates, route kinds and namespaces, ListenerSet admission) decides who may attach,
not where traffic goes, and is accepted as written.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from webhook.resources.base import any_field
from webhook.resources.gateway_route import GatewayApiSpec


class GatewayAddress(GatewayApiSpec):
    """GatewaySpecAddress: ``IPAddress`` (the CRD default), ``Hostname``, or a vendor type."""

    type: str = "IPAddress"
    value: str = ""


class ListenerTLS(GatewayApiSpec):
    """GatewayTLSConfig; Istio reads `options` (e.g. gateway.istio.io/listener-protocol)."""

    mode: str | None = None
    certificate_refs: Any = Field(default=None, alias="certificateRefs")
    options: dict[str, str] = Field(default_factory=dict)


class Listener(GatewayApiSpec):
    """Listener: a port the gateway pods open, and the routes that may attach there."""

    name: str
    hostname: str | None = None
    port: int
    protocol: str
    tls: ListenerTLS | None = None
    allowed_routes: Any = Field(default=None, alias="allowedRoutes")


class ParametersRef(GatewayApiSpec):
    """LocalParametersReference: Istio reads a ConfigMap of deployment overlays."""

    group: str
    kind: str
    name: str


class Infrastructure(GatewayApiSpec):
    """GatewayInfrastructure: metadata (and parameters) of what the implementation deploys."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    parameters_ref: ParametersRef | None = Field(default=None, alias="parametersRef")


class GatewayApiGatewaySpec(GatewayApiSpec):
    """Gateway.spec (v1, v1beta1)."""

    gateway_class_name: str = Field(alias="gatewayClassName")
    addresses: list[GatewayAddress] = Field(default_factory=list)
    listeners: list[Listener] = Field(default_factory=list)
    infrastructure: Infrastructure | None = None
    allowed_listeners: Any = Field(default=None, alias="allowedListeners")
    default_scope: str | None = Field(default=None, alias="defaultScope")
    # Client certificate and frontend validation: TLS identity, not a destination.
    tls: Any = any_field()
