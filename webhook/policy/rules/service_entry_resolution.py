"""ServiceEntry resolution and location: the proxy must send bytes only to the allowlisted name.

Decisions (see README, "Where the bytes really go"):
- an exact host is resolved by DNS or DNS_ROUND_ROBIN (NONE, the proto default, forwards
  to whatever IP the application dialled), or by STATIC endpoints when its entry has CIDRs;
- a wildcard host cannot be resolved by DNS: NONE or DYNAMIC_DNS is acceptable only when
  every port's protocol lets the proxy see the name (SNI or Host), never plain TCP or an
  undeclared protocol; otherwise STATIC endpoints inside its entry's CIDRs;
- NONE with `addresses` is acceptable on any host when no port is an HTTP one: a TCP,
  TLS, HTTPS, MONGO or undeclared port gets a sidecar listener bound to those addresses
  (an IP, or 0.0.0.0 with a filter-chain match on the CIDR: buildSidecarOutboundListener
  in pilot/pkg/networking/core/listener.go, for ListenerProtocolTCP and
  ListenerProtocolAuto of ModelProtocolToListenerProtocol in
  pilot/pkg/networking/networking.go), so original-destination forwarding reaches only
  them; service-entry-endpoints holds the addresses inside the entry's CIDRs. An HTTP
  port listens on 0.0.0.0 and routes by Host whatever the addresses, so it is not bound.
  This is Istio's "Using an External HTTPS Proxy" task (a /32 on a TCP port);
- location stays MESH_EXTERNAL and no workloadSelector picks tenant-made endpoints,
  unless the entry only names its own namespace's mesh workloads
  (webhook/policy/mesh_workloads.py: MESH_INTERNAL, STATIC or DNS resolution, no
  endpoints, hosts no allowlist entry contains), whose WorkloadEntries are judged themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import NAME_AWARE_PROTOCOLS, describe_cidrs, entries
from webhook.policy.decision import Violation
from webhook.policy.hosts import wildcard_suffix
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import ServiceEntrySubject

RULE = "service-entry-resolution"

_FIELD = "spec.resolution"
_DNS = frozenset({"DNS", "DNS_ROUND_ROBIN"})
_NAME_RESOLVED = frozenset({"NONE", "DYNAMIC_DNS"})

#: Port protocols whose sidecar listener is 0.0.0.0:port routing by Host (ListenerProtocolHTTP).
_HTTP_LISTENER = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})


def _unbound_ports(subject: ServiceEntrySubject) -> list[str]:
    """Ports whose sidecar listener the entry's addresses do not bind (all, without any)."""
    spec = subject.spec
    return [
        f"{p.number}/{p.effective_protocol or 'undeclared'}"
        for p in spec.ports
        if not spec.addresses or p.effective_protocol in _HTTP_LISTENER
    ]


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """Resolution that can reach IPs the allowlist does not name, or an internal location."""
    spec = subject.spec
    resolution = spec.effective_resolution
    if subject.names_mesh_workloads:
        return  # its endpoints are its namespace's WorkloadEntries and pods, judged there
    if subject.names_local_sockets:
        return  # STATIC, to sockets in the caller's own pod
    if spec.effective_location != "MESH_EXTERNAL":
        yield Violation(
            RULE,
            "spec.location",
            f"location {spec.location} treats external hosts as part of the mesh; "
            "use MESH_EXTERNAL (the default)",
        )
    if spec.workload_selector is not None:
        yield Violation(
            RULE,
            "spec.workloadSelector",
            "workloadSelector takes endpoints from WorkloadEntries and pods the webhook "
            "cannot see; list endpoints explicitly instead (an entry for this namespace's "
            "own VMs and pods needs location MESH_INTERNAL, resolution STATIC or DNS, no "
            "endpoints or addresses, and hosts no allowlist entry contains)",
        )
    if resolution == "NONE" and not _unbound_ports(subject):
        return  # every listener is bound to the addresses, whichever name is presented
    for raw in spec.hosts:
        found = entries(subject, raw.lower())
        if not found:
            continue  # reported by service-entry-hosts
        if wildcard_suffix(raw.lower()) is None:
            yield from _exact_host(subject, raw, found)
        else:
            yield from _wildcard_host(subject, raw, found)


def _exact_host(
    subject: ServiceEntrySubject, raw: str, found: tuple[AllowlistEntry, ...]
) -> Iterator[Violation]:
    """An exact host: DNS, or STATIC inside the entry's CIDRs."""
    spec = subject.spec
    resolution = spec.effective_resolution
    has_cidrs = any(e.cidrs for e in found)
    if resolution in _DNS or (resolution == "STATIC" and has_cidrs):
        return
    fix = "use resolution DNS" + (
        ", or STATIC endpoints or TCP/TLS ports with addresses inside " + describe_cidrs(found)
        if has_cidrs
        else ""
    )
    why = {
        "NONE": "forwards to whatever IP the application dialled"
        + (f" on port {', '.join(_unbound_ports(subject))}" if spec.addresses else ""),
        "DYNAMIC_DNS": "resolves whatever name the request carries",
        "STATIC": f"sends to endpoint IPs, but {describe_cidrs(found)}",
    }[resolution]
    shown = spec.resolution or "NONE (the default)"
    yield Violation(RULE, _FIELD, f'resolution {shown} for host "{raw}" {why}; {fix}')


def _wildcard_host(
    subject: ServiceEntrySubject, raw: str, found: tuple[AllowlistEntry, ...]
) -> Iterator[Violation]:
    """A wildcard host: the proxy must see the name, or the IPs lie inside the CIDRs."""
    spec = subject.spec
    resolution = spec.effective_resolution
    shown = spec.resolution or "NONE (the default)"
    if resolution in _NAME_RESOLVED:
        blind = [
            f"{p.number}/{p.effective_protocol or 'undeclared'}"
            for p in spec.ports
            if p.effective_protocol not in NAME_AWARE_PROTOCOLS
        ]
        if blind:
            yield Violation(
                RULE,
                _FIELD,
                f'resolution {shown} for wildcard host "{raw}" on port '
                f"{', '.join(blind)} lets the application reach any IP: the proxy sees "
                "no name on that protocol (declare TLS, HTTPS or HTTP, use STATIC "
                "endpoints inside the entry's CIDRs, or NONE with addresses inside them)",
            )
        elif resolution == "NONE":
            yield Violation(
                RULE,
                _FIELD,
                f'resolution {shown} for wildcard host "{raw}" connects to whatever IP '
                "the application dialled, whichever name it presents; prefer "
                "DYNAMIC_DNS, which connects to the name the proxy sees",
                advisory=True,
            )
    elif resolution == "STATIC":
        if not any(e.cidrs for e in found):
            yield Violation(
                RULE,
                _FIELD,
                f'resolution STATIC for wildcard host "{raw}" sends to endpoint IPs, but '
                f"{describe_cidrs(found)}",
            )
    elif not spec.endpoints:
        yield Violation(
            RULE,
            _FIELD,
            f'resolution {shown} cannot resolve wildcard host "{raw}" (Istio resolves '
            "names, not wildcards); use DYNAMIC_DNS on TLS/HTTP ports",
        )
