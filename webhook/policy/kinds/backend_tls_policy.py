"""BackendTLSPolicy (gateway.networking.k8s.io): TLS origination, and its SNI, towards a target."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import backend_tls_sni, routing_labels
from webhook.policy.subject import Subject
from webhook.resources.backend_tls_policy import BackendTLSPolicySpec
from webhook.resources.gateway_route import GATEWAY_API_GROUP

KIND: Kind[Subject[Any]] = Kind(
    kind="BackendTLSPolicy",
    group=GATEWAY_API_GROUP,
    versions=("v1", "v1alpha3"),
    resource="backendtlspolicies",
    model=BackendTLSPolicySpec,
    subject=Subject,
    rules=(backend_tls_sni.check, routing_labels.check),
)
