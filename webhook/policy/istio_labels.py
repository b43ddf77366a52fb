"""Label and annotation keys Istio reads to route traffic (istio/api label package,
labels.gen.go), named once for the rules that judge them."""

from __future__ import annotations

#: The waypoint a Service, ServiceEntry, workload or namespace uses (ambient), and the
#: namespace it lives in when not the object's own.
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
#: Ingress gateways call the Service's waypoint rather than its endpoints.
INGRESS_USE_WAYPOINT = "istio.io/ingress-use-waypoint"
#: A second waypoint taking a share of the traffic (ResolveUseWaypointCanary).
USE_WAYPOINT_CANARY = "istio.io/use-waypoint-canary"
USE_WAYPOINT_CANARY_NAMESPACE = "istio.io/use-waypoint-canary-namespace"
#: Keys only Istio itself writes.
INTERNAL_PREFIX = "internal.istio.io/"
