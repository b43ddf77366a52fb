"""ServiceEntry addresses and endpoints: IPs inside the entry's CIDRs, names allowlisted.

Istio sends a STATIC or DNS entry's traffic to its `endpoints` (istio/api
service_entry.proto, WorkloadEntry.address: an IP, a host name resolved by DNS, or a
``unix://`` socket), converted by pilot/pkg/serviceregistry/serviceentry/conversion.go
(convertEndpoint); an endpoint with a `network` is reached through that network's
gateway, and so is one whose ``labels`` carry ``topology.istio.io/network``: with no
`network`, convertWorkloadEntryToWorkloadInstance's workloadEntryNetwork asks kube
Controller.Network, which takes that label first (sidecars and gateways; ztunnel reads
`network` alone, ambient/workloads.go serviceEntryWorkloadBuilder).
`addresses` (VIPs or CIDRs) bind the sidecar's listener for the entry
(buildSidecarOutboundListener). Each must stay inside what the allowlist entry permits.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import (
    describe_cidrs,
    entries,
    external_host_problem,
    ip_allowed,
)
from webhook.policy.decision import Violation
from webhook.policy.hosts import is_ip_literal
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import ServiceEntrySubject

RULE = "service-entry-endpoints"

#: The endpoint label Istio reads as its network when `network` is empty.
NETWORK_LABEL = "topology.istio.io/network"


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """An address or endpoint that sends the hosts' traffic outside what their entries allow."""
    spec = subject.spec
    hosts = [(h, entries(subject, h.lower())) for h in spec.hosts]
    hosts = [(h, found) for h, found in hosts if found]  # others fail service-entry-hosts
    for k, address in enumerate(spec.addresses):
        field = f"spec.addresses[{k}]"
        if not is_ip_literal(address):
            yield Violation(RULE, field, f'address "{address}" is not an IP address or CIDR')
            continue
        yield from _outside_networks(field, "address", address, hosts)
    for k, endpoint in enumerate(spec.endpoints):
        field = f"spec.endpoints[{k}].address"
        address = endpoint.address or ""
        if not address:
            where = (
                f'the gateway of network "{endpoint.network}"'
                if endpoint.network
                else "no address at all"
            )
            yield Violation(
                RULE,
                field,
                f"endpoint without an address sends traffic to {where}; give the endpoint "
                "an address inside the entry's CIDRs or an allowlisted host name",
            )
        elif endpoint.network:
            yield Violation(
                RULE,
                f"spec.endpoints[{k}].network",
                f'endpoint "{address}" on network "{endpoint.network}" is reached through '
                "that network's gateway, and leaves from another cluster; remove network",
            )
        elif label_network := (endpoint.labels or {}).get(NETWORK_LABEL):
            yield Violation(
                RULE,
                f"spec.endpoints[{k}].labels[{NETWORK_LABEL}]",
                f'endpoint "{address}" labelled for network "{label_network}" is reached '
                "through that network's gateway, and leaves from another cluster; remove "
                "the label",
            )
        elif address.startswith("unix://"):
            if subject.names_local_sockets:
                continue  # a socket in the caller's own pod, for a name that is no egress
            yield Violation(
                RULE,
                field,
                f'endpoint "{address}" is a unix socket; external hosts need network endpoints',
            )
        elif is_ip_literal(address):
            if "/" in address:
                yield Violation(
                    RULE, field, f'endpoint "{address}" must be a single IP, not a CIDR'
                )
                continue
            yield from _outside_networks(field, "endpoint", address, hosts)
        else:
            problem = external_host_problem(subject, address, address.lower())
            if problem is not None:
                yield Violation(RULE, field, f"endpoint {problem}")
            elif spec.effective_resolution not in ("DNS", "DNS_ROUND_ROBIN"):
                yield Violation(
                    RULE,
                    "spec.resolution",
                    f'endpoint host name "{address}" needs resolution DNS',
                )


def _outside_networks(
    field: str, what: str, address: str, hosts: list[tuple[str, tuple[AllowlistEntry, ...]]]
) -> Iterator[Violation]:
    """Every host sharing the IP must have an entry whose CIDRs contain it."""
    for host, found in hosts:
        if not ip_allowed(found, address):
            yield Violation(
                RULE,
                field,
                f'{what} "{address}" is outside what host "{host}" may use '
                f"({describe_cidrs(found)})",
            )
