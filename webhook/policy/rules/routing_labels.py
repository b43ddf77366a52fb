"""Routing labels and annotations: metadata that reroutes an object's traffic is checked like spec.

In ambient mode ``istio.io/use-waypoint`` sends a ServiceEntry's traffic through a
waypoint (``none`` opts out of it), so it is allowed only when it names an approved
egress waypoint (egressGateway.waypoints). ``internal.istio.io/*`` keys are Istio's own
(e.g. ``internal.istio.io/gateway-service`` attaches a Gateway to another Service's pods).
Istio: the ``istio.io/use-waypoint`` label (istio/api label package,
``IoIstioUseWaypoint``) read by getUseWaypoint in
pilot/pkg/serviceregistry/kube/controller/ambient/waypoints.go.

An in-cluster Service (any type but ``ExternalName``) may name any waypoint (with its
namespace, and ``istio.io/ingress-use-waypoint``), but not ``none``: the waypoint
only forwards the Service's own traffic to its endpoints (checked by endpoint-addresses)
or to the backends of the routes attached to it (checked as routes), so the waypoint
keys open nothing there; this is how the ambient docs label Services
(docs/ambient/usage/waypoint/). ``none`` would take the Service out of the waypoint its
namespace is bound to, and an ``ExternalName`` Service is an alias for an outside host:
both keep the general rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from webhook.policy.core_subjects import ServiceSubject
from webhook.policy.decision import Violation
from webhook.policy.subject import Subject

RULE = "routing-labels"

USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
INGRESS_USE_WAYPOINT = "istio.io/ingress-use-waypoint"
INTERNAL_PREFIX = "internal.istio.io/"


def check(subject: Subject[Any]) -> Iterator[Violation]:
    """A waypoint other than an approved egress waypoint, or an Istio-internal key."""
    meta = subject.metadata
    approved = subject.policy.policy.egress_gateway.waypoints
    in_cluster = isinstance(subject, ServiceSubject) and not subject.spec.is_external_name
    for where, mapping in (
        ("metadata.labels", meta.labels),
        ("metadata.annotations", meta.annotations),
    ):
        for key in mapping:
            if key.startswith(INTERNAL_PREFIX):
                yield Violation(
                    RULE, f"{where}[{key}]", f'"{key}" is reserved for Istio itself; remove it'
                )
        waypoint = mapping.get(USE_WAYPOINT)
        if in_cluster and waypoint not in (None, "none"):
            continue
        if INGRESS_USE_WAYPOINT in mapping:
            yield Violation(
                RULE,
                f"{where}[{INGRESS_USE_WAYPOINT}]",
                f'"{INGRESS_USE_WAYPOINT}" reroutes traffic through a waypoint; remove it',
            )
        if waypoint is None:
            if USE_WAYPOINT_NAMESPACE in mapping:
                yield Violation(
                    RULE,
                    f"{where}[{USE_WAYPOINT_NAMESPACE}]",
                    f'"{USE_WAYPOINT_NAMESPACE}" without "{USE_WAYPOINT}"; remove it',
                )
            continue
        namespace = mapping.get(USE_WAYPOINT_NAMESPACE) or subject.namespace
        ref = f"{namespace}/{waypoint}"
        if ref not in approved:
            shown = ", ".join(approved) or "none are configured"
            yield Violation(
                RULE,
                f"{where}[{USE_WAYPOINT}]",
                f'routes traffic through waypoint "{ref}", which is not an approved egress '
                f"waypoint (approved: {shown})",
            )
