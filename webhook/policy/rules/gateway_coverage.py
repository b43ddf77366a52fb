"""Gateway coverage: a ServiceEntry's guarded hosts are routed to the egress gateway already.

A ServiceEntry alone makes its hosts reachable from every sidecar it is exported to,
straight out (Istio's default for a registered external host). So with a cluster view,
each host and port that egressGateway.requireFor covers must already have a
VirtualService visible to each namespace the entry is exported to (or a Gateway API route
attached to the entry that applies there: coverage.route_covers) sending its ``mesh``
traffic to the egress gateway Service: create the VirtualService first. Not checked
without a view or with egressGateway.coverage ``off``; with ``warn`` the findings are
warnings. A stale view cannot vouch for anything, so the entry is refused (fail closed)
with the reason.

Istio: a MESH_EXTERNAL ServiceEntry gets an outbound cluster and listener at every sidecar
it is exported to (pilot/pkg/networking/core cluster and listener builders); only a
VirtualService whose hosts match it (core/httproute.go selectVirtualServices) sends that
traffic elsewhere, here to the egress gateway. The entry reaches every namespace its
exportTo names (PushContext.IsServiceVisible) and each sidecar reads the VirtualServices
visible to its own namespace (SelectVirtualServices): coverage is owed in each.

Ambient mode (egressGateway.waypoints set): ztunnel reads no VirtualService. It sends a
ServiceEntry's traffic to the entry's waypoint, else straight to its endpoints
(ambient/services.go serviceEntryServiceBuilder -> waypoints.go fetchWaypointForService:
the entry's ``istio.io/use-waypoint`` label, else its namespace's), and any pod can join
ambient by its own ``istio.io/dataplane-mode: ambient`` label (constants.DataplaneModeAmbient).
So a guarded host is covered only when its entry is also bound to an approved egress
waypoint: by that label naming one (routing-labels refuses any other), or by living in an
approved waypoint's namespace with no label, enrolled there as the ambient egress page
enrols istio-egress (the namespace's label is out of view: that namespace is the
platform's). Sidecars still need the VirtualService: they never send to a Service's
waypoint (only gateways do, endpoint_builder.go findServiceWaypoint).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.coverage import (
    EVERY_NAMESPACE,
    guarded_ports,
    suggested_virtual_service,
    uncovered_namespace,
)
from webhook.policy.decision import Violation
from webhook.policy.istio_labels import (
    USE_WAYPOINT,
    USE_WAYPOINT_NAMESPACE,
)
from webhook.policy.subject import ServiceEntrySubject
from webhook.policy.view import export_to

RULE = "gateway-coverage"


def stale_view(subject: ServiceEntrySubject, advisory: bool) -> Violation:
    """The finding when the view cannot be trusted."""
    assert subject.view is not None
    return Violation(
        RULE,
        "spec.hosts",
        "cannot check egress gateway coverage: the webhook's view of the cluster is stale "
        f"({subject.view.stale_reason}); retry once the webhook's /readyz reports the view "
        "in sync",
        advisory=advisory,
    )


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A guarded host and port with no VirtualService sending it to the egress gateway, or
    (ambient) an entry bound to no approved egress waypoint."""
    view, policy = subject.view, subject.policy
    mode = policy.policy.egress_gateway.coverage
    if view is None or mode == "off" or subject.operation == "DELETE":
        return
    advisory = mode == "warn"
    entry = {"spec": subject.spec.model_dump(by_alias=True, exclude_none=True)}
    guarded = guarded_ports(entry, policy)
    if guarded and view.stale:
        yield stale_view(subject, advisory)
        return
    reported: set[str] = set()
    unbound = _waypoint_problem(subject)
    unbound_reported: set[str] = set()
    for port in guarded:
        if unbound is not None and port.host not in unbound_reported:
            unbound_reported.add(port.host)
            yield Violation(
                RULE,
                _host_field(subject, port.host),
                f'host "{port.host}" is not bound to an approved egress waypoint ({unbound}), '
                "so ambient pods would reach it directly through ztunnel, which no "
                "VirtualService steers",
                advisory=advisory,
            )
        if port.host in reported:
            continue
        reader = uncovered_namespace(
            view, subject.namespace, export_to(entry), port, policy, name=subject.name
        )
        if reader is None:
            continue
        reported.add(port.host)
        where = (
            "to every namespace (the ServiceEntry is exported to all of them)"
            if reader == EVERY_NAMESPACE
            else f'to namespace "{reader}"'
        )
        yield Violation(
            RULE,
            _host_field(subject, port.host),
            f'host "{port.host}" port {port.port} is not covered: no VirtualService visible '
            f"{where} (nor Gateway API route attached to the entry) sends its mesh traffic "
            "to the egress gateway "
            f'"{policy.egress_gateway_service}", so sidecars would reach it directly. Create '
            "this VirtualService first, then the ServiceEntry:\n"
            + suggested_virtual_service(subject.namespace, port, policy),
            advisory=advisory,
        )


def _host_field(subject: ServiceEntrySubject, host: str) -> str:
    """The path of the first of the entry's hosts that is `host` (guarded hosts are
    lower-cased)."""
    index = next(i for i, h in enumerate(subject.spec.hosts) if h.lower() == host)
    return f"spec.hosts[{index}]"


def _waypoint_problem(subject: ServiceEntrySubject) -> str | None:
    """Why the entry is not bound to an approved egress waypoint in ambient mode, or None."""
    approved = subject.policy.policy.egress_gateway.waypoints
    if not approved:
        return None  # no ambient egress waypoint: sidecar coverage alone
    labels = subject.metadata.labels
    if USE_WAYPOINT in labels:
        return None  # an approved one, or routing-labels refuses it
    if subject.namespace in {ref.partition("/")[0] for ref in approved}:
        return None  # the approved waypoint's own namespace, enrolled in it
    first = approved[0].split("/", 1)
    return (
        f"label it {USE_WAYPOINT}: {first[1]} and {USE_WAYPOINT_NAMESPACE}: {first[0]}, "
        f"or define it in namespace {first[0]!r}; approved: {', '.join(approved)}"
    )
