"""XBackend (gateway.networking.x-k8s.io v1alpha1), Gateway API experimental (apisx).

An ``ExternalHostname`` backend: a registry host (an external ServiceEntry's) on one port,
with optional TLS. Istio reads it only with PILOT_ENABLE_ALPHA_GATEWAY_API.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from webhook.resources.gateway_route import GatewayApiSpec

#: The experimental Gateway API group.
GATEWAY_API_EXPERIMENTAL_GROUP = "gateway.networking.x-k8s.io"


class ExternalHostname(GatewayApiSpec):
    """ExternalHostnameBackend: the host the backend stands for."""

    hostname: str = ""


class BackendValidation(GatewayApiSpec):
    """BackendTLSPolicyValidation as an XBackend carries it: every field optional."""

    hostname: str | None = None
    ca_certificate_refs: Any = Field(default=None, alias="caCertificateRefs")
    well_known_ca_certificates: str | None = Field(default=None, alias="wellKnownCACertificates")
    subject_alt_names: Any = Field(default=None, alias="subjectAltNames")


class BackendTLS(GatewayApiSpec):
    """BackendTLS: ``None``, ``ServerOnly`` or ``ClientAndServer``, and the validation."""

    mode: str
    client_certificate_ref: Any = Field(default=None, alias="clientCertificateRef")
    validation: BackendValidation = Field(default_factory=BackendValidation)


class XBackendSpec(GatewayApiSpec):
    """XBackend.spec (BackendSpec)."""

    type: str
    port: Any = None
    external_hostname: ExternalHostname | None = Field(default=None, alias="externalHostname")
    protocol: str | None = None
    tls: BackendTLS | None = None
