"""Routing labels and annotations: metadata that reroutes an object's traffic is checked like spec.

In ambient mode ``istio.io/use-waypoint`` sends a ServiceEntry's traffic through a
waypoint (``none`` opts out of it), so it is allowed only when it names an approved
egress waypoint (egressGateway.waypoints). ``internal.istio.io/*`` keys are Istio's own
(e.g. ``internal.istio.io/gateway-service`` attaches a Gateway to another Service's pods).
Istio: the ``istio.io/use-waypoint`` label (istio/api label package,
``IoIstioUseWaypoint``) read by getUseWaypoint in
pilot/pkg/serviceregistry/kube/controller/ambient/waypoints.go.

An in-cluster Service (any type but ``ExternalName``) may name any waypoint (with its
namespace, and ``istio.io/ingress-use-waypoint``), or ``none``: the waypoint
only forwards the Service's own traffic to its endpoints (checked by endpoint-addresses)
or to the backends of the routes attached to it (checked as routes), so the waypoint
keys open nothing there; this is how the ambient docs label Services
(docs/ambient/usage/waypoint/). ``none`` (GetUseWaypoint's isNone) leaves the Service with
no waypoint, so its traffic goes straight to those same endpoints: the state of every
Service in a namespace without a waypoint, or whose waypoint is for workloads only
(fetchWaypointForService returns none for it), which the webhook admits unlabelled. A
bare ``istio.io/ingress-use-waypoint`` (ingressUseWaypointFromLabels) only makes ingress
gateways call the waypoint the Service already has, from its namespace if not its own.
An ``ExternalName`` Service is an alias for an outside host: it keeps the general rule.

A WorkloadEntry may likewise name any waypoint, or ``none``: its labels give only the
waypoint for traffic addressed to the workload itself (computeWaypoint and
fetchWaypointForWorkload in pilot/pkg/serviceregistry/ambient/workloads.go and
waypoints.go; its Services' waypoints come from the Services), which the waypoint
forwards to that same address, judged by workload-entry-endpoint. Canary and ingress keys
are read only from Services, ServiceEntries and namespaces.
So may its canary (below): the canary takes a share of the same traffic
(ResolveUseWaypointCanary).

``istio.io/use-waypoint-canary`` (with ``istio.io/use-waypoint-canary-namespace``) names a
second waypoint that takes the share of connections the ``istio.io/use-waypoint-canary-weight``
annotation gives it (100: all of them) beside the primary: it is judged like the primary.
Istio: getUseWaypointCanary, getCanaryWeight and buildWeightedWaypoints in
pilot/pkg/serviceregistry/ambient/waypoints.go (labels ``IoIstioUseWaypointCanary``,
``IoIstioUseWaypointCanaryNamespace``), published as the Service's ``WeightedWaypoints``.

``gateway.istio.io/managed: istio.io-mesh-controller`` (or ``istio.io-eastwest-controller``)
marks the Services Istio deploys for a waypoint or east-west gateway; on a ServiceEntry it
takes the entry out of any waypoint, its namespace's too, as ``none`` does
(fetchWaypointForService in the same file). Istio never writes a ServiceEntry with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from webhook.policy.core_subjects import ServiceSubject
from webhook.policy.decision import Violation
from webhook.policy.istio_labels import (
    INGRESS_USE_WAYPOINT,
    INTERNAL_PREFIX,
    USE_WAYPOINT,
    USE_WAYPOINT_CANARY,
    USE_WAYPOINT_CANARY_NAMESPACE,
    USE_WAYPOINT_NAMESPACE,
)
from webhook.policy.subject import ServiceEntrySubject, Subject
from webhook.resources.workload_entry import WorkloadEntrySpec

RULE = "routing-labels"

MANAGED = "gateway.istio.io/managed"
#: ``gateway.istio.io/managed`` values that make Istio skip the object's waypoint
#: (constants.ManagedGatewayMeshControllerLabel, ManagedGatewayEastWestControllerLabel).
MANAGED_WITHOUT_WAYPOINT = ("istio.io-mesh-controller", "istio.io-eastwest-controller")


def check(subject: Subject[Any]) -> Iterator[Violation]:
    """A waypoint other than an approved egress waypoint, or an Istio-internal key."""
    meta = subject.metadata
    in_cluster = (
        isinstance(subject, ServiceSubject) and not subject.spec.is_external_name
    ) or isinstance(subject.spec, WorkloadEntrySpec)
    for where, mapping in (
        ("metadata.labels", meta.labels),
        ("metadata.annotations", meta.annotations),
    ):
        for key in mapping:
            if key.startswith(INTERNAL_PREFIX):
                yield Violation(
                    RULE, f"{where}[{key}]", f'"{key}" is reserved for Istio itself; remove it'
                )
        if isinstance(subject, ServiceEntrySubject) and mapping.get(MANAGED) in (
            MANAGED_WITHOUT_WAYPOINT
        ):
            yield Violation(
                RULE,
                f"{where}[{MANAGED}]",
                f'"{MANAGED}: {mapping[MANAGED]}" marks the entry as a waypoint\'s own Service, '
                "which Istio sends through no waypoint; remove it",
            )
        waypoint = mapping.get(USE_WAYPOINT)
        if in_cluster and waypoint is not None:
            continue
        if INGRESS_USE_WAYPOINT in mapping and not in_cluster:
            yield Violation(
                RULE,
                f"{where}[{INGRESS_USE_WAYPOINT}]",
                f'"{INGRESS_USE_WAYPOINT}" reroutes traffic through a waypoint; remove it',
            )
        for name_key, namespace_key, none_opts_out in (
            (USE_WAYPOINT, USE_WAYPOINT_NAMESPACE, True),
            (USE_WAYPOINT_CANARY, USE_WAYPOINT_CANARY_NAMESPACE, False),
        ):
            if in_cluster and name_key == USE_WAYPOINT_CANARY:
                # under the namespace's primary (ResolveUseWaypointCanary): a share of the
                # Service's own traffic, like the primary an in-cluster Service may name
                continue
            yield from _waypoint(subject, where, mapping, name_key, namespace_key, none_opts_out)


def _waypoint(
    subject: Subject[Any],
    where: str,
    mapping: Mapping[str, str],
    name_key: str,
    namespace_key: str,
    none_opts_out: bool,
) -> Iterator[Violation]:
    """One waypoint reference (primary or canary) naming an unapproved waypoint."""
    waypoint = mapping.get(name_key)
    if waypoint is None or (not none_opts_out and waypoint in ("", "none")):
        # a canary of "" or "none" is ignored by Istio (getUseWaypointCanary)
        if namespace_key in mapping and waypoint is None:
            yield Violation(
                RULE,
                f"{where}[{namespace_key}]",
                f'"{namespace_key}" without "{name_key}"; remove it',
            )
        return
    approved = subject.policy.policy.egress_gateway.waypoints
    namespace = mapping.get(namespace_key) or subject.namespace
    ref = f"{namespace}/{waypoint}"
    if ref not in approved:
        shown = ", ".join(approved) or "none are configured"
        what = "waypoint" if name_key == USE_WAYPOINT else "canary waypoint"
        yield Violation(
            RULE,
            f"{where}[{name_key}]",
            f'routes traffic through {what} "{ref}", which is not an approved egress '
            f"waypoint (approved: {shown})",
        )
