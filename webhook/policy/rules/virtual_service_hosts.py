"""VirtualService hosts: external hosts routed by sidecars or the egress gateway are allowlisted.

Hosts of a route bound only to an ingress gateway, or routed at sidecars only to
in-cluster services, are names clients use to come in, not egress, and are left alone.
Nobody may route the egress gateway's own name.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import external_host_problem
from webhook.policy.decision import Violation
from webhook.policy.hosts import MAX_NAME_LENGTH, hosts_overlap, shown
from webhook.policy.subject import VirtualServiceSubject

RULE = "virtual-service-hosts"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """An external host opened at sidecars or the egress gateway that the allowlist lacks."""
    policy = subject.policy
    fields = {
        subject.resolve(raw): (f"spec.hosts[{i}]", raw) for i, raw in enumerate(subject.spec.hosts)
    }
    for host, (field, raw) in fields.items():
        if len(host) > MAX_NAME_LENGTH + len("*.") and not subject.is_external(host):
            # an external one is refused below, with the allowlist's reasons
            yield Violation(
                RULE, field, f"host {shown(raw)} is longer than DNS allows ({MAX_NAME_LENGTH})"
            )
            continue
        if hosts_overlap(host, policy.egress_gateway_service):
            yield Violation(
                RULE,
                field,
                f'host "{raw}" covers the egress gateway\'s own name '
                f'"{policy.egress_gateway_service}"; routing it would capture every '
                "namespace's egress traffic",
            )
    reported: set[str] = set()
    for leg in subject.legs:
        at_egress = any(map(subject.is_egress_gateway, leg.gateways))
        if not (leg.at_sidecars or at_egress):
            continue
        if not at_egress and subject.routes_inward(leg):
            continue  # inward routing; capturing an allowlisted name is mesh-routing's finding
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
