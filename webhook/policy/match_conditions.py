"""CEL matchConditions for the core kinds' webhook entries, built from the rules' own names.

The API server evaluates them before calling the webhook (GA in Kubernetes 1.30). They
must never skip an object a rule would refuse: each names exactly what the rules read.
An error in a condition is decided by the entry's failurePolicy, so every field is
guarded with ``has()`` and ``object`` (null on DELETE) is tested first.
"""

from __future__ import annotations

from webhook.policy import istio_labels
from webhook.policy.registry import MatchCondition
from webhook.policy.rules import service_addresses

#: Users the endpoint controllers of kube-controller-manager write as: with per-controller
#: credentials (--use-service-account-credentials) and without. Their Endpoints and
#: EndpointSlices (pod IPs of selector Services, mirrors of Endpoints we already judged)
#: must never be refused, or Services stop working. Labels such as
#: endpointslice.kubernetes.io/managed-by are written by whoever writes the object, so
#: only the API server's word on the user is trusted.
ENDPOINT_CONTROLLERS = (
    "system:serviceaccount:kube-system:endpoint-controller",
    "system:serviceaccount:kube-system:endpointslice-controller",
    "system:serviceaccount:kube-system:endpointslice-mirroring-controller",
    "system:kube-controller-manager",
)

#: Label and annotation keys a rule reads on a Service whatever its type.
ROUTING_KEYS = (
    istio_labels.USE_WAYPOINT,
    istio_labels.USE_WAYPOINT_NAMESPACE,
    istio_labels.INGRESS_USE_WAYPOINT,
    istio_labels.USE_WAYPOINT_CANARY,
    istio_labels.USE_WAYPOINT_CANARY_NAMESPACE,
    service_addresses.NETWORK_LABEL,
)


def _cel_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


NOT_AN_ENDPOINT_CONTROLLER = MatchCondition(
    name="not-an-endpoint-controller",
    expression=f"!(request.userInfo.username in {_cel_list(ENDPOINT_CONTROLLERS)})",
)


def _keys(where: str) -> str:
    return (
        f"(has(object.metadata.{where}) && object.metadata.{where}.exists(k, "
        f"k in {_cel_list(ROUTING_KEYS)} || k.startsWith('{istio_labels.INTERNAL_PREFIX}')))"
    )


#: Ordinary Services (ClusterIP, headless, NodePort, LoadBalancer, no routing metadata)
#: are never sent: every Service rule reads only these.
SERVICE_MAY_ROUTE = MatchCondition(
    name="service-may-route",
    expression=(
        "object != null && has(object.spec) && ("
        "(has(object.spec.type) && object.spec.type == 'ExternalName')"
        " || (has(object.spec.externalIPs) && size(object.spec.externalIPs) > 0)"
        f" || {_keys('labels')} || {_keys('annotations')})"
    ),
)
