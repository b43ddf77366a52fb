"""Questions rules ask of the allowlist for one namespace, answered with readable reasons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from webhook.policy.hosts import host_problem, hosts_overlap, ip_in_networks, is_ip_literal, shown
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import Subject

#: Protocols where the proxy reads the destination name (TLS SNI or HTTP Host/:authority).
NAME_AWARE_PROTOCOLS = frozenset({"HTTP", "HTTPS", "TLS", "HTTP2", "GRPC", "GRPC-WEB"})


def external_host_problem(subject: Subject[Any], raw: str, host: str) -> str | None:
    """Why the external `host` (as written: `raw`) may not be opened, or None."""
    key = ("problem", raw, host)
    if key not in subject.memo:
        subject.memo[key] = _external_host_problem(subject, raw, host)
    problem: str | None = subject.memo[key]
    return problem


def _external_host_problem(subject: Subject[Any], raw: str, host: str) -> str | None:
    problem = host_problem(raw)
    quoted = shown(raw)
    if problem is not None:
        return f"host {quoted} {problem}"
    gateway = subject.policy.egress_gateway_service
    if hosts_overlap(host, gateway):
        return f'host {quoted} claims the egress gateway\'s own name "{gateway}"'
    if not subject.is_external(host):
        return (
            f'host {quoted} is in the cluster domain "{subject.policy.cluster_domain}": '
            "in-cluster names cannot be registered as external hosts"
        )
    if subject.entries(host):
        return None
    elsewhere = sorted({ns for e in subject.policy.entries_for(host) for ns in e.namespaces or ()})
    if elsewhere:
        return (
            f"host {quoted} is allowlisted only for namespace"
            f"{'s' if len(elsewhere) > 1 else ''} {', '.join(elsewhere)}, "
            f'not for "{subject.namespace}"'
        )
    return (
        f'host {quoted} is not on the egress allowlist for namespace "{subject.namespace}" '
        f"({subject.allowed_summary()})"
    )


def entries(subject: Subject[Any], host: str) -> tuple[AllowlistEntry, ...]:
    """The allowlist entries containing `host` that the subject's namespace may use."""
    return subject.entries(host)


def port_allowed(
    found: Iterable[AllowlistEntry],
    number: int,
    protocol: str | None,
    *,
    any_protocol: bool = False,
) -> bool:
    """True when some entry allows `number` with `protocol` (None: protocol not declared).

    `any_protocol` asks about the number alone (a VirtualService destination port, whose
    protocol the ServiceEntry already answered for).
    """
    for entry in found:
        for port in entry.ports:
            if port.number != number:
                continue
            if any_protocol or port.protocols is None or protocol in port.protocols:
                return True
    return False


def describe_ports(found: Iterable[AllowlistEntry]) -> str:
    """``443/TLS,HTTPS, 8443`` for messages."""
    parts = []
    for entry in found:
        for port in entry.ports:
            protocols = ",".join(port.protocols) if port.protocols else "any protocol"
            parts.append(f"{port.number}/{protocols}")
    return ", ".join(sorted(set(parts))) or "none"


def ip_allowed(found: Iterable[AllowlistEntry], address: str) -> bool:
    """True when some entry's CIDRs contain the address or network `address`."""
    return any(entry.cidrs and ip_in_networks(address, entry.cidrs) for entry in found)


def describe_cidrs(found: Iterable[AllowlistEntry]) -> str:
    """The CIDRs the entries allow, or a sentence saying there are none."""
    cidrs = sorted({str(c) for entry in found for c in entry.cidrs})
    return ", ".join(cidrs) if cidrs else "the entry has no cidrs, so no IPs are allowed"


def address_problem(subject: Subject[Any], address: str) -> str | None:
    """Why an endpoint `address` (IP or DNS name) may not be pointed at, or None.

    For the kinds that turn a name into an address (WorkloadEntry, Endpoints,
    EndpointSlice, an ExternalName Service): an IP must lie in the policy's
    internalNetworks or in the cidrs of an allowlist entry the namespace may use; a
    name must be in the cluster domain or allowlisted for the namespace.
    """
    if is_ip_literal(address):
        networks = subject.policy.policy.internal_networks
        if ip_in_networks(address.strip("[]"), networks):
            return None
        usable = [e for e in subject.policy.policy.allowlist if e.cidrs]
        usable = [e for e in usable if e.namespaces is None or subject.namespace in e.namespaces]
        if ip_allowed(usable, address.strip("[]")):
            return None
        return (
            f"address {shown(address)} is outside the internal networks "
            f"({', '.join(map(str, networks)) or 'none set'}) and outside every allowlist "
            f'entry\'s cidrs usable from namespace "{subject.namespace}"'
        )
    host = address.lower()
    if not subject.is_external(host) and host_problem(address) is None:
        return None
    return external_host_problem(subject, address, host)


def sni_problem(subject: Subject[Any], sni: str) -> str | None:
    """Why a TLS client may not present `sni`, or None: it must be one exact name in the
    cluster or allowlisted for the subject's namespace (the SNI picks what a shared TLS
    front end, a CDN or the egress gateway, serves). DestinationRule ``tls.sni`` and
    BackendTLSPolicy ``validation.hostname`` are both this SNI."""
    if "*" in sni:
        return "it is a wildcard, and a TLS client presents one exact name"
    problem = host_problem(sni)
    if problem is not None:
        return f"it {problem}"
    host = sni.lower()
    if not subject.is_external(host):
        return None  # a name in the cluster (the egress gateway's mTLS, a Service)
    return external_host_problem(subject, sni, host)
