"""Gateway (networking.istio.io): servers on gateway pods; on the egress pods, egress servers."""

from __future__ import annotations

from webhook.policy.gateway_subject import GatewaySubject
from webhook.policy.registry import Kind
from webhook.policy.rules import gateway_selector, gateway_servers, routing_labels
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS
from webhook.resources.gateway import GatewaySpec

KIND = Kind(
    kind="Gateway",
    group=ISTIO_NETWORKING_GROUP,
    versions=ISTIO_NETWORKING_VERSIONS,
    resource="gateways",
    model=GatewaySpec,
    subject=GatewaySubject,
    rules=(gateway_servers.check, gateway_selector.check, routing_labels.check),
)
