"""RequestAuthentication (security.istio.io): JWT rules whose keys istiod or the sidecar fetch."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import request_authentication_jwks, routing_labels
from webhook.policy.subject import Subject
from webhook.resources.base import ISTIO_SECURITY_GROUP, ISTIO_SECURITY_VERSIONS
from webhook.resources.request_authentication import RequestAuthenticationSpec

KIND: Kind[Subject[Any]] = Kind(
    kind="RequestAuthentication",
    group=ISTIO_SECURITY_GROUP,
    versions=ISTIO_SECURITY_VERSIONS,
    resource="requestauthentications",
    model=RequestAuthenticationSpec,
    subject=Subject,
    rules=(
        request_authentication_jwks.check,
        routing_labels.check,
    ),
)
