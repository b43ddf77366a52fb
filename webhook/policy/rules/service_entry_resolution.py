"""ServiceEntry resolution and location: the proxy must send bytes only to the allowlisted name.

Decisions (see README, "Where the bytes really go"):
- an exact host is resolved by DNS or DNS_ROUND_ROBIN (NONE, the proto default, forwards
  to whatever IP the application dialled), or by STATIC endpoints when its entry has CIDRs;
- a wildcard host cannot be resolved by DNS: NONE or DYNAMIC_DNS is acceptable only when
  every port's protocol lets the proxy see the name (SNI or Host), never plain TCP or an
  undeclared protocol; otherwise STATIC endpoints inside its entry's CIDRs;
- location stays MESH_EXTERNAL and no workloadSelector picks tenant-made endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import NAME_AWARE_PROTOCOLS, describe_cidrs, entries
from webhook.policy.decision import Violation
from webhook.policy.hosts import wildcard_suffix
from webhook.policy.subject import ServiceEntrySubject

RULE = "service-entry-resolution"

_DNS = frozenset({"DNS", "DNS_ROUND_ROBIN"})
_NAME_RESOLVED = frozenset({"NONE", "DYNAMIC_DNS"})


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """Resolution that can reach IPs the allowlist does not name, or an internal location."""
    spec = subject.spec
    resolution = spec.effective_resolution
    shown = spec.resolution or "NONE (the default)"
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
            "cannot see; list endpoints explicitly instead",
        )
    for raw in spec.hosts:
        host = raw.lower()
        found = entries(subject, host)
        if not found:
            continue  # reported by service-entry-hosts
        has_cidrs = any(e.cidrs for e in found)
        field = "spec.resolution"
        if wildcard_suffix(host) is None:
            if resolution in _DNS or (resolution == "STATIC" and has_cidrs):
                continue
            fix = "use resolution DNS" + (
                ", or STATIC endpoints inside " + describe_cidrs(found) if has_cidrs else ""
            )
            why = {
                "NONE": "forwards to whatever IP the application dialled",
                "DYNAMIC_DNS": "resolves whatever name the request carries",
                "STATIC": f"sends to endpoint IPs, but {describe_cidrs(found)}",
            }[resolution]
            yield Violation(RULE, field, f'resolution {shown} for host "{raw}" {why}; {fix}')
            continue
        if resolution in _NAME_RESOLVED:
            blind = [
                f"{p.number}/{p.effective_protocol or 'undeclared'}"
                for p in spec.ports
                if p.effective_protocol not in NAME_AWARE_PROTOCOLS
            ]
            if blind:
                yield Violation(
                    RULE,
                    field,
                    f'resolution {shown} for wildcard host "{raw}" on port '
                    f"{', '.join(blind)} lets the application reach any IP: the proxy sees "
                    "no name on that protocol (declare TLS, HTTPS or HTTP, or use STATIC "
                    "endpoints inside the entry's CIDRs)",
                )
            elif resolution == "NONE":
                yield Violation(
                    RULE,
                    field,
                    f'resolution {shown} for wildcard host "{raw}" connects to whatever IP '
                    "the application dialled, whichever name it presents; prefer "
                    "DYNAMIC_DNS, which connects to the name the proxy sees",
                    advisory=True,
                )
        elif resolution == "STATIC":
            if not has_cidrs:
                yield Violation(
                    RULE,
                    field,
                    f'resolution STATIC for wildcard host "{raw}" sends to endpoint IPs, but '
                    f"{describe_cidrs(found)}",
                )
        elif not spec.endpoints:
            yield Violation(
                RULE,
                field,
                f'resolution {shown} cannot resolve wildcard host "{raw}" (Istio resolves '
                "names, not wildcards); use DYNAMIC_DNS on TLS/HTTP ports",
            )
