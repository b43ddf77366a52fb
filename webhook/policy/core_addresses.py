"""Where a core object points an in-cluster name: inside the cluster, or allowed and direct.

A Service's endpoints (Endpoints, EndpointSlice) and an ExternalName Service's target
send traffic for an in-cluster name straight to an address, with no VirtualService in
between: nothing can send it through the egress gateway. So an outside address must be
allowlisted for the namespace, on the object's ports, for a host that does not require
the egress gateway, and usable by every namespace, since a Service is exported to all of
them unless an annotation this object cannot show says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webhook.policy.allowlist import address_problem, describe_ports, port_allowed
from webhook.policy.hosts import host_problem, ip_in_networks, is_ip_literal, shown
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import Subject
from webhook.resources.core import CorePort

#: The way out of a refused outside address, said once for every message that needs it.
FIX = "point the Service at pods (a selector), or reach an allowlisted host through a ServiceEntry"


def target_problem(
    subject: Subject[Any], address: str, ports: Sequence[CorePort], *, alias: bool = False
) -> str | None:
    """Why traffic may not be sent straight to `address` (an IP or a DNS name), or None.

    `alias`: the target of an ExternalName Service, which carries its own exportTo (the
    export-scope rule judges it), so a namespace-restricted destination is not refused here.
    """
    if is_ip_literal(address):
        return ip_target_problem(subject, address, ports, alias=alias)
    return name_target_problem(subject, address, ports, alias=alias)


def ip_target_problem(
    subject: Subject[Any], ip: str, ports: Sequence[CorePort], *, alias: bool = False
) -> str | None:
    """Why traffic may not be sent straight to the IP `ip` on `ports`, or None."""
    address = ip.strip("[]")
    if ip_in_networks(address, subject.policy.policy.internal_networks):
        return None
    problem = address_problem(subject, ip)
    if problem is not None:
        return f"{problem}; {FIX}"
    found = [
        e
        for e in subject.policy.policy.allowlist
        if (e.namespaces is None or subject.namespace in e.namespaces)
        and ip_in_networks(address, e.cidrs)
    ]
    return _direct_problem(subject, f"address {shown(ip)}", found, ports, alias)


def name_target_problem(
    subject: Subject[Any], name: str, ports: Sequence[CorePort], *, alias: bool = False
) -> str | None:
    """Why traffic may not be sent straight to the DNS name `name` on `ports`, or None."""
    host = name.lower()
    if not subject.is_external(host) and host_problem(name) is None:
        return None  # an in-cluster name: Istio routes it as that Service
    problem = address_problem(subject, name)
    if problem is not None:
        return f"{problem}; {FIX}"
    found = subject.entries(host)
    if alias and found and name == host:
        # An alias has no cluster or listener of its own (model.Alias: buildOutboundClusters
        # and buildSidecarOutboundListener skip it); its name joins the target's virtual
        # hosts, so the target's VirtualServices, the egress-gateway leg included, route it.
        return _ports_problem(f"host {shown(name)}", found, ports)
    return _direct_problem(subject, f"host {shown(name)}", found, ports, alias)


def _direct_problem(
    subject: Subject[Any],
    quoted: str,
    found: Sequence[AllowlistEntry],
    ports: Sequence[CorePort],
    alias: bool,
) -> str | None:
    """What is wrong with a direct path to an allowlisted destination of entries `found`."""
    policy = subject.policy
    direct = [e for e in found if not policy.requires_gateway(e.host)]
    if not direct:
        hosts = ", ".join(sorted({e.host for e in found}))
        return (
            f"{quoted} is allowlisted as {hosts}, whose mesh traffic must go through the "
            f'egress gateway "{policy.egress_gateway_service}", and an address is sent to as '
            "it is, past every VirtualService; reach it by its own name "
            "through a ServiceEntry and a VirtualService to the egress gateway"
        )
    if not alias and all(e.namespaces is not None for e in direct):
        namespaces = sorted({ns for e in direct for ns in e.namespaces or ()})
        return (
            f"{quoted} is allowed only for namespace{'s' if len(namespaces) > 1 else ''} "
            f"{', '.join(namespaces)}, but every namespace may use a Service name unless its "
            "networking.istio.io/exportTo annotation says otherwise, which this object cannot "
            'show; use a ServiceEntry with exportTo: ["."] instead'
        )
    return _ports_problem(quoted, direct, ports)


def _ports_problem(
    quoted: str, entries: Sequence[AllowlistEntry], ports: Sequence[CorePort]
) -> str | None:
    """A port of `ports` that no entry of `entries` allows, said as a problem, or None."""
    for port in ports:
        if port.port is None or not port_allowed(entries, port.port, None, any_protocol=True):
            number = "every port" if port.port is None else f"port {port.port}"
            return f"{quoted} may not be reached on {number} (allowed: {describe_ports(entries)})"
    return None
