"""BackendTLSPolicy (gateway.networking.k8s.io v1, v1alpha3), Gateway API v1.4.0.

Both versions are the same object (the CRD serves v1alpha3 and stores v1); Istio 1.28
reads v1 (pkg/config/schema/metadata.yaml).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from webhook.resources.gateway_route import GatewayApiSpec


class PolicyTargetRef(GatewayApiSpec):
    """LocalPolicyTargetReferenceWithSectionName: an object in the policy's own namespace."""

    group: str
    kind: str
    name: str
    section_name: str | None = Field(default=None, alias="sectionName")


class SubjectAltName(GatewayApiSpec):
    """SubjectAltName: a name the backend's certificate must carry."""

    type: str
    hostname: str | None = None
    uri: str | None = None


class Validation(GatewayApiSpec):
    """BackendTLSPolicyValidation: the SNI (`hostname`) and how the certificate is checked."""

    hostname: str
    ca_certificate_refs: Any = Field(default=None, alias="caCertificateRefs")
    well_known_ca_certificates: str | None = Field(default=None, alias="wellKnownCACertificates")
    subject_alt_names: list[SubjectAltName] = Field(default_factory=list, alias="subjectAltNames")


class BackendTLSPolicySpec(GatewayApiSpec):
    """BackendTLSPolicy.spec."""

    target_refs: list[PolicyTargetRef] = Field(alias="targetRefs")
    validation: Validation
    # Implementation-specific TLS knobs (versions, ciphers); Istio 1.28 reads none.
    options: dict[str, str] = Field(default_factory=dict)
