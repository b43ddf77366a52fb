"""XBackend (gateway.networking.x-k8s.io): an external host's backend, and its TLS SNI."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import backend_tls_sni, routing_labels
from webhook.policy.subject import Subject
from webhook.resources.xbackend import GATEWAY_API_EXPERIMENTAL_GROUP, XBackendSpec

KIND: Kind[Subject[Any]] = Kind(
    kind="XBackend",
    group=GATEWAY_API_EXPERIMENTAL_GROUP,
    versions=("v1alpha1",),
    resource="xbackends",
    model=XBackendSpec,
    subject=Subject,
    rules=(backend_tls_sni.check_xbackend, routing_labels.check),
)
