"""Route mesh routing: a Gateway API route at sidecars sends external traffic only to the gateway.

A `Service` or ``networking.istio.io`` `ServiceEntry` parent makes a route a sidecar
route for that parent's hosts (Istio 1.28 route_collections.go: ``vsHosts`` are the
ServiceEntry's ``spec.hosts`` or ``<svc>.<ns>.svc.<domain>``, with ``gateways: [mesh]``;
the route's own ``hostnames`` are not used there, so they are not judged here). Such a
route is imported before any VirtualService for the route's namespace (consumer route),
and for every client of a parent in its own namespace (producer route).

A ServiceEntry's hosts are not in the route: the webhook takes them to be allowlisted
external hosts (what a ServiceEntry a tenant may create registers) that need the egress
gateway whenever egressGateway.requireFor names any host. Its route may then send only
to an egress gateway Service: egressGateway.service, or ``<name>-istio.<ns>.svc.<domain>``
of an approved Gateway API Gateway ``ns/name`` (the Service Istio deploys for it,
deploymentcontroller.go getDefaultName). No weighted share elsewhere, no RequestMirror,
no Host rewrite (URLRewrite ``hostname`` is rewrite.authority, a RequestHeaderModifier of
``Host`` is headers.request: conversion.go createRewriteFilter, createHeadersFilter).
The one other backend allowed is a ``Hostname`` that is an exact allowlisted host the
gateway is not required for (the egress-control task's timeout route).

Any sidecar route, whatever its parent, that sends or mirrors straight to a
gateway-required external host (a ``Hostname`` backend, buildDestination) is refused,
and no route may capture an egress gateway Service's own name; nor may a route that goes
straight out to a host the gateway is not required for rewrite the Host to one it is
required for (a front end serving both answers for it, around the gateway). A `Service` parent's
route may not send or mirror to an egress gateway Service at all: its in-cluster name
arrives on a gateway port whose routes other namespaces wrote, and a TCP server there
forwards everything to the first VirtualService bound to it
(buildGatewayNetworkFiltersFromTCPRoutes, pilot/pkg/networking/core/gateway.go), so the
bytes reach that namespace's external host (virtual-service-hosts refuses the same
VirtualService).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.gateway_routes import Backend, GatewayRouteSubject, Parent, Rule

RULE = "route-mesh-routing"


def check(subject: GatewayRouteSubject) -> Iterator[Violation]:
    """A sidecar route that reaches an external host around the egress gateway."""
    gateways = subject.gateway_services()
    guard_any = subject.policy.require_all or bool(subject.policy.require_patterns)
    for parent in subject.parents:
        if parent.scope != "mesh":
            continue
        if parent.host in gateways:
            yield Violation(
                RULE,
                f"{parent.field}.name",
                f'attaches to {parent.described}, the egress gateway Service "{parent.host}": '
                "a route for it would capture the namespace's egress traffic; remove this parent",
            )
            continue
        if parent.kind == "ServiceEntry" and guard_any:
            yield from _guarded(subject, parent, gateways)
            continue
        for rule in subject.rules:
            yield from _fronting(subject, rule, gateways)
            for backend in rule.backends:
                if backend.host in gateways:
                    yield Violation(
                        RULE,
                        backend.field,
                        f"sends mesh traffic for in-cluster {parent.described} to the egress "
                        f'gateway Service "{backend.host}"; it would ride another namespace\'s '
                        "gateway route on that port: only allowlisted external hosts go there",
                    )
                elif backend.kind == "hostname" and _gateway_required(subject, backend):
                    verb = "mirrors" if backend.mirror else "sends"
                    yield Violation(
                        RULE,
                        backend.field,
                        f"{verb} mesh traffic for {parent.described} directly to external host "
                        f'"{backend.raw}"; route it through the egress gateway '
                        f'"{subject.policy.egress_gateway_service}"',
                    )


def _fronting(
    subject: GatewayRouteSubject, rule: Rule, gateways: frozenset[str]
) -> Iterator[Violation]:
    """A rule sending straight out to a host the gateway is not required for, with a Host
    rewrite (URLRewrite hostname, RequestHeaderModifier Host) to one it is required for:
    a front end serving both answers for the second, around the gateway."""
    if not any(
        b.kind == "hostname" and b.external and not b.mirror and b.host not in gateways
        for b in rule.backends
    ):
        return
    for rewrite in rule.authority_rewrites:
        if subject.policy.fronts_gateway_host(rewrite.value):
            yield Violation(
                RULE,
                rewrite.field,
                f'rewrites the Host of mesh traffic sent straight out to "{rewrite.value}", a '
                "host whose mesh traffic must use the egress gateway: a front end serving both "
                "would reach it around the gateway; remove the rewrite",
            )


def _gateway_required(subject: GatewayRouteSubject, backend: Backend) -> bool:
    """True for an external host whose mesh traffic must use the egress gateway.

    A backend kind the webhook cannot place is route-backends' finding.
    """
    return backend.external and subject.policy.requires_gateway(backend.host)


def _guarded(
    subject: GatewayRouteSubject, parent: Parent, gateways: frozenset[str]
) -> Iterator[Violation]:
    """The route carries a ServiceEntry's (external) hosts: only the egress gateway will do."""
    approved = ", ".join(sorted(str(ref) for ref in subject.policy.egress_gateway_refs))
    shown = (
        f'"{subject.policy.egress_gateway_service}" (or the "<name>-istio" Service of an '
        f"approved egress Gateway: {approved})"
    )
    what = f"mesh traffic for the hosts of {parent.described}"
    for rule in subject.rules:
        for backend in rule.backends:
            if backend.mirror:
                yield Violation(
                    RULE,
                    backend.field,
                    f'mirrors {what} to "{backend.raw}"; traffic to external hosts goes only to '
                    "the egress gateway, unmirrored: remove the filter",
                )
            elif backend.host not in gateways and not _reachable_directly(subject, backend):
                yield Violation(
                    RULE,
                    backend.field,
                    f'sends {what} to "{backend.raw}", around the egress gateway; send all of '
                    f"it to {shown}",
                )
        for rewrite in rule.authority_rewrites:
            yield Violation(
                RULE,
                rewrite.field,
                f'rewrites the Host of {what} to "{rewrite.value}"; remove it: the egress '
                "gateway must see the host the application asked for",
            )


def _reachable_directly(subject: GatewayRouteSubject, backend: Backend) -> bool:
    """An exact allowlisted Hostname the namespace may reach without the gateway."""
    return (
        backend.kind == "hostname"
        and backend.external
        and not backend.host.startswith("*")
        and bool(subject.entries(backend.host))
        and not subject.policy.requires_gateway(backend.host)
    )
