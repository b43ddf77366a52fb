"""Gateway API infrastructure: the pods Istio deploys for a Gateway never pass for egress pods.

Istio's deployment controller labels a Gateway's pods and Service with
``spec.infrastructure.labels``, or the Gateway's own labels when those are unset, and
annotates them likewise (deploymentcontroller.go extractInfrastructureMetadata; the
kube-gateway and waypoint templates). An Istio Gateway programs every gateway pod whose
labels include its selector (PushContext.mergeGateways: ``SubsetOf``), so pods carrying
one of egressGateway.selector's labels (``istio: egressgateway``) receive the egress
gateway's servers and the routes bound to them, and forward allowlisted traffic out of
the tenant's namespace instead of the egress gateway's. Routing keys that the Gateway's
own metadata may not carry (routing-labels: ``internal.istio.io/*``,
``istio.io/use-waypoint`` other than an approved egress waypoint,
``istio.io/ingress-use-waypoint``, and the canary ``istio.io/use-waypoint-canary`` with
its namespace, which buildWeightedWaypoints in pilot/pkg/serviceregistry/ambient/waypoints.go
gives up to every connection) may not be put on its pods this way either.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.gateway_api_gateways import GatewayApiGatewaySubject
from webhook.policy.istio_labels import (
    INGRESS_USE_WAYPOINT,
    INTERNAL_PREFIX,
    USE_WAYPOINT,
    USE_WAYPOINT_CANARY,
    USE_WAYPOINT_CANARY_NAMESPACE,
    USE_WAYPOINT_NAMESPACE,
)

RULE = "gateway-api-infrastructure"


def check(subject: GatewayApiGatewaySubject) -> Iterator[Violation]:
    """Egress gateway pod labels, or routing keys, on the deployed gateway."""
    selector = subject.policy.policy.egress_gateway.selector
    for key, value in sorted((subject.pod_labels or {}).items()):
        if selector.get(key) == value:
            yield Violation(
                RULE,
                f"{subject.pod_labels_field}[{key}]",
                f'"{key}: {value}" goes on the pods Istio deploys for this Gateway, and it is '
                "a label of the egress gateway pods (egressGateway.selector): every Gateway "
                "selecting the egress gateway would program these pods too, and they would "
                "forward its external traffic from this namespace; use another label",
            )
    infra = subject.spec.infrastructure
    if infra is None:
        return
    for where, mapping in (
        ("spec.infrastructure.labels", infra.labels or {}),
        ("spec.infrastructure.annotations", infra.annotations or {}),
    ):
        yield from _routing_keys(subject, where, mapping)


def _routing_keys(
    subject: GatewayApiGatewaySubject, where: str, mapping: dict[str, str]
) -> Iterator[Violation]:
    approved = subject.policy.policy.egress_gateway.waypoints
    for key, value in sorted(mapping.items()):
        reason = None
        if key.startswith(INTERNAL_PREFIX):
            reason = "is reserved for Istio itself"
        elif key == INGRESS_USE_WAYPOINT:
            reason = "reroutes the gateway's traffic through a waypoint"
        elif key in (USE_WAYPOINT, USE_WAYPOINT_CANARY):
            namespace_key = (
                USE_WAYPOINT_NAMESPACE if key == USE_WAYPOINT else USE_WAYPOINT_CANARY_NAMESPACE
            )
            namespace = mapping.get(namespace_key) or subject.namespace
            if f"{namespace}/{value}" not in approved:
                reason = (
                    f'routes the gateway pods\' traffic through waypoint "{namespace}/{value}", '
                    "which is not an approved egress waypoint"
                )
        elif key == USE_WAYPOINT_NAMESPACE and USE_WAYPOINT not in mapping:
            reason = f'names a waypoint namespace without "{USE_WAYPOINT}"'
        elif key == USE_WAYPOINT_CANARY_NAMESPACE and USE_WAYPOINT_CANARY not in mapping:
            reason = f'names a waypoint namespace without "{USE_WAYPOINT_CANARY}"'
        if reason is not None:
            yield Violation(
                RULE,
                f"{where}[{key}]",
                f'"{key}" on the pods Istio deploys for this Gateway {reason}; remove it',
            )
