"""VirtualService hosts: external hosts routed by sidecars or the egress gateway are allowlisted.

Hosts of a route bound only to an ingress gateway, or routed at sidecars only to
in-cluster services, are names clients use to come in, not egress, and are left alone.
Nobody may route the egress gateway's own name at sidecars or at an approved egress
gateway. A VirtualService is indexed only under its top-level `gateways` (getGatewayNames
in pilot/pkg/model/push_context.go; empty means `mesh`), so one bound only to other
Gateways (Bookinfo's `hosts: ["*"]` at its ingress gateway) never sees the sidecars'
traffic to the egress gateway; a Gateway that programs the egress pods may not serve that
name or a wildcard over it (gateway-servers).

The egress gateway is reached only for hosts the namespace may use: a route or mirror
to the egress gateway Service carries only external hosts allowlisted for the object's
namespace, on their ports (its match port is the port the application dialled). An
in-cluster name sent there arrives on a gateway port whose routes other namespaces wrote:
a TCP server belongs wholly to the first VirtualService bound to it
(buildGatewayNetworkFiltersFromTCPRoutes, pilot/pkg/networking/core/gateway.go), so the
bytes ride another namespace's leg. A delegate (no hosts) carries its parent's hosts,
out of view: Istio merges its http routes into whatever VirtualService delegates to it
(mergeVirtualServicesIfNeeded, pilot/pkg/model/virtualservice.go), so it may not send
to the egress gateway at all.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import describe_ports, external_host_problem, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.hosts import MAX_NAME_LENGTH, hosts_overlap, shown
from webhook.policy.names import resolve_gateway_ref
from webhook.policy.routes import Leg
from webhook.policy.subject import VirtualServiceSubject
from webhook.resources.virtual_service import MESH_GATEWAY

RULE = "virtual-service-hosts"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """An external host opened at sidecars or the egress gateway that the allowlist lacks."""
    policy = subject.policy
    fields = {
        subject.resolve(raw): (f"spec.hosts[{i}]", raw) for i, raw in enumerate(subject.spec.hosts)
    }
    bound = {resolve_gateway_ref(g, subject.namespace) for g in subject.spec.gateways}
    sees_egress_traffic = (
        not bound or MESH_GATEWAY in bound or any(map(subject.is_egress_gateway, bound))
    )
    for host, (field, raw) in fields.items():
        if len(host) > MAX_NAME_LENGTH + len("*.") and not subject.is_external(host):
            # an external one is refused below, with the allowlist's reasons
            yield Violation(
                RULE, field, f"host {shown(raw)} is longer than DNS allows ({MAX_NAME_LENGTH})"
            )
            continue
        if sees_egress_traffic and hosts_overlap(host, policy.egress_gateway_service):
            yield Violation(
                RULE,
                field,
                f'host "{raw}" covers the egress gateway\'s own name '
                f'"{policy.egress_gateway_service}"; routing it would capture every '
                "namespace's egress traffic",
            )
    reported: set[str] = set()
    # A large VirtualService repeats a few leg shapes. A leg whose hosts (and port, to the
    # egress gateway) an earlier leg already brought here finds nothing new: everything it
    # could report is keyed in `reported` by host (and port), and `reported` only grows.
    sent_to_gateway: set[tuple[tuple[str, ...], int | None]] = set()
    opened: set[tuple[str, ...]] = set()
    at_egress_of: dict[frozenset[str], bool] = {}
    for leg in subject.legs:
        to_gateway = leg.reaches_egress_gateway
        if to_gateway and (not leg.hosts or (leg.hosts, leg.port) not in sent_to_gateway):
            if leg.hosts:  # a delegate's finding names each target: never skipped
                sent_to_gateway.add((leg.hosts, leg.port))
            yield from _egress_gateway_leg(subject, leg, fields, reported)
        at_egress = at_egress_of.get(leg.gateways)
        if at_egress is None:
            at_egress = at_egress_of[leg.gateways] = any(
                map(subject.is_egress_gateway, leg.gateways)
            )
        if not (leg.at_sidecars or at_egress or to_gateway):
            continue
        if not at_egress and leg.inward:
            continue  # inward routing; capturing an allowlisted name is mesh-routing's finding
        if leg.hosts in opened:
            continue
        opened.add(leg.hosts)
        # A TLS leg narrowed to its sniHosts still binds the VirtualService to every host it
        # lists, so those are opened here too.
        for host in (*leg.hosts, *fields):
            if host in reported or not subject.is_external(host):
                continue
            reported.add(host)
            field, raw = fields.get(host, (f"{leg.field}.sniHosts", host))
            problem = external_host_problem(subject, raw, host)
            if problem is not None:
                yield Violation(RULE, field, problem)


def _egress_gateway_leg(
    subject: VirtualServiceSubject,
    leg: Leg,
    fields: dict[str, tuple[str, str]],
    reported: set[str],
) -> Iterator[Violation]:
    """Hosts a leg to the egress gateway carries that the namespace may not send there."""
    gateway = subject.policy.egress_gateway_service
    if not leg.hosts:
        target = next(t for t in leg.targets if t.host == gateway)
        key = f"delegate:{target.field}"
        if key not in reported:
            reported.add(key)
            yield Violation(
                RULE,
                target.field,
                f'sends traffic to the egress gateway "{gateway}" from a delegate '
                "VirtualService (no hosts), which carries the hosts of whatever "
                "VirtualService delegates to it; route to the egress gateway in that one",
            )
        return
    for host in leg.hosts:
        field, raw = fields.get(host, (f"{leg.field}.sniHosts", host))
        if not subject.is_external(host):
            if f"internal:{host}" not in reported:
                reported.add(f"internal:{host}")
                yield Violation(
                    RULE,
                    field,
                    f'in-cluster host "{raw}" is routed to the egress gateway "{gateway}"; '
                    "it would ride another namespace's gateway route on that port: only "
                    "allowlisted external hosts go there",
                )
            continue
        found = subject.entries(host)
        key = f"port:{host}:{leg.port}"
        if leg.port is None or not found or key in reported:
            continue  # no port, or the host itself is refused below
        reported.add(key)
        if not port_allowed(found, leg.port, None, any_protocol=True):
            yield Violation(
                RULE,
                f"{leg.field}.port",
                f'port {leg.port} is not allowed for host "{raw}", whose traffic this match '
                f"sends to the egress gateway (allowed: {describe_ports(found)})",
            )
