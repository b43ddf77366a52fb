"""Route gateway routing: only approved egress Gateways forward routes outside, and only there.

A route whose parent is a Gateway API `Gateway` applies at that Gateway's deployment
(Istio 1.28 route_collections.go: ``gateways: [<the Gateway's internal name>]``, hosts
from the route's ``hostnames``). egressGateway.gateways names the approved egress
gateways as ``ns/name``; a Gateway API Gateway of that name (Istio's egress gateway
task, Gateway API tab, deploys one per namespace) is one. At any other parent that
applies at a gateway (an ingress Gateway, a ListenerSet or the default Gateways, whose
Gateway is out of view) a route may not forward outside the cluster. At an egress
gateway it forwards only outside: its ``hostnames`` and Host rewrites must be
allowlisted for the namespace, and a backend back into the cluster is refused. A route at
another gateway may hand only such hosts to an egress gateway Service. An
HTTP, gRPC or TLS route without ``hostnames`` is one for ``*`` (hostnameToStringList,
conversion.go: "In the Kubernetes API hosts means 'any'"): every Host or SNI the egress
gateway receives goes to its backends, as a VirtualService for ``*`` bound there would.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import external_host_problem
from webhook.policy.decision import Violation
from webhook.policy.gateway_routes import GatewayRouteSubject, Parent
from webhook.policy.hosts import MAX_NAME_LENGTH
from webhook.resources.gateway_route import HTTPRouteSpec, TLSRouteSpec

RULE = "route-gateway-routing"


def check(subject: GatewayRouteSubject) -> Iterator[Violation]:
    """An external backend at another gateway; anything but allowlisted hosts at an egress one."""
    approved = ", ".join(sorted(str(ref) for ref in subject.policy.egress_gateway_refs))
    for parent in subject.parents:
        if parent.scope == "mesh":
            continue
        if subject.is_egress_gateway(parent):
            yield from _at_egress_gateway(subject, parent)
            continue
        for rule in subject.rules:
            for backend in rule.backends:
                if backend.kind == "hostname" and backend.external:
                    yield Violation(
                        RULE,
                        backend.field,
                        f'forwards to external host "{backend.raw}" at {parent.described}, '
                        f"which is not an approved egress gateway (approved: {approved})",
                    )
        yield from _to_egress_gateway(subject, parent)


def _at_egress_gateway(subject: GatewayRouteSubject, parent: Parent) -> Iterator[Violation]:
    if isinstance(subject.spec, HTTPRouteSpec | TLSRouteSpec) and not subject.spec.hostnames:
        yield Violation(
            RULE,
            "spec.hostnames",
            f"at egress gateway {parent.described}: a route without hostnames serves every "
            'host ("*") there; list the allowlisted hosts it is for',
        )
    for i, raw in enumerate(subject.spec.route_hostnames):
        host = raw.lower()
        problem = (
            f"hostname is longer than DNS allows ({MAX_NAME_LENGTH})"
            if len(host) > MAX_NAME_LENGTH + len("*.")
            else external_host_problem(subject, raw, host)
        )
        if problem is not None:
            yield Violation(
                RULE, f"spec.hostnames[{i}]", f"at egress gateway {parent.described}: {problem}"
            )
    for rule in subject.rules:
        for backend in rule.backends:
            if backend.kind == "service" or (backend.kind == "hostname" and not backend.external):
                yield Violation(
                    RULE,
                    backend.field,
                    f"routes traffic at egress gateway {parent.described} to in-cluster host "
                    f'"{backend.raw}"; egress gateway routes forward only to allowlisted '
                    "external hosts",
                )
        for rewrite in rule.authority_rewrites:
            problem = external_host_problem(subject, rewrite.value, rewrite.value.lower())
            if problem is not None:
                yield Violation(
                    RULE, rewrite.field, f"Host rewrite at the egress gateway: {problem}"
                )


def _to_egress_gateway(subject: GatewayRouteSubject, parent: Parent) -> Iterator[Violation]:
    """A route at another gateway that hands hosts the namespace may not use to the egress one.

    What reaches an egress gateway Service must be an allowlisted external host: an in-cluster
    or unlisted name arrives on a gateway port whose routes other namespaces wrote, and a TCP
    server there forwards everything to the first VirtualService bound to it
    (buildGatewayNetworkFiltersFromTCPRoutes, gateway.go), as virtual-service-hosts says of a
    VirtualService. A route without hostnames (every TCP route) carries any host.
    """
    gateways = subject.gateway_services()
    backend = next((b for rule in subject.rules for b in rule.backends if b.host in gateways), None)
    if backend is None:
        return
    hostnames = subject.spec.route_hostnames
    if not hostnames:
        yield Violation(
            RULE,
            backend.field,
            f'sends every host at {parent.described} to the egress gateway Service "'
            f'{backend.host}"; only allowlisted external hosts go there: list them in '
            "spec.hostnames (a TCPRoute cannot)",
        )
    for i, raw in enumerate(hostnames):
        problem = external_host_problem(subject, raw, raw.lower())
        if problem is not None:
            yield Violation(
                RULE,
                f"spec.hostnames[{i}]",
                f'sent from {parent.described} to the egress gateway Service "{backend.host}": '
                f"{problem}",
            )
