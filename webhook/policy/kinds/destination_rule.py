"""DestinationRule (networking.istio.io): TLS, tunnels and load balancing towards a host."""

from __future__ import annotations

from webhook.policy.destination_rules import DestinationRuleSubject
from webhook.policy.registry import Kind
from webhook.policy.rules import (
    destination_rule_passthrough,
    destination_rule_sni,
    destination_rule_tunnel,
    export_scope,
    routing_labels,
)
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS
from webhook.resources.destination_rule import DestinationRuleSpec

KIND = Kind(
    kind="DestinationRule",
    group=ISTIO_NETWORKING_GROUP,
    versions=ISTIO_NETWORKING_VERSIONS,
    resource="destinationrules",
    model=DestinationRuleSpec,
    subject=DestinationRuleSubject,
    rules=(
        destination_rule_tunnel.check,
        destination_rule_sni.check,
        destination_rule_passthrough.check,
        export_scope.check,
        routing_labels.check,
    ),
)
