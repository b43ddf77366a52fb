"""Sidecar egress listeners may narrow what is imported, not re-declare its port or protocol.

`hosts` only filters the services and VirtualServices a sidecar imports
(`IstioEgressListenerWrapper.selectServices`, `SelectVirtualServices` in
pilot/pkg/model/): it adds no destination, and under REGISTRY_ONLY anything not imported
is refused; `*/*` imports exactly what exportTo already lets the namespace see. A listener
with a `port` is different: `buildSidecarOutboundListeners` (pilot/pkg/networking/core/
listener.go) renders every imported service on that port with that protocol, so a
VirtualService written for the host's own port and protocol (the egress-gateway routes:
`tls` on 443, `http` on 80) no longer matches, and `buildSidecarOutboundTLSFilterChainOpts`
/ `buildSidecarOutboundTCPFilterChainOpts` (tls.go) or the HTTP route's default fall back
to the service's own cluster, `outbound|<port>||<host>`: straight to the external host.
`HTTP_PROXY` builds one route table for every service and port (httproute.go sets
listenerPort 0). So `port` is refused; `bind` and `captureMode` on the catch-all listener
only change where its sockets listen, not its routes, and are allowed.

Unless the listener imports nothing that must use the egress gateway. With a port (not
`HTTP_PROXY`), `needsPortMatch` makes `matchingService` keep only services whose own ports
include it (`serviceMatchingListenerPort`), and `hostClassification.Matches` imports a
service only when its hostname is a subset of a listed `dnsName` (an exact name imports
that name alone). When every listed name is in the cluster domain, or is allowlisted for
the namespace on that port and protocol and overlaps no host `egressGateway.requireFor`
names, each imported service is one the namespace may reach directly on that very port:
the sidecar reference's `no-ip-tables` listener (3306/MYSQL over `*/mysql.foo.com`, bound
to 127.0.0.1) opens nothing its ServiceEntry does not. Exclusions (`~ns/...`) only narrow.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import entries, external_host_problem, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.subject import Subject
from webhook.resources.sidecar import EgressListener, SidecarSpec

RULE = "sidecar-egress-listeners"


def check(subject: Subject[SidecarSpec]) -> Iterator[Violation]:
    """An egress listener with its own port (and so its own protocol)."""
    for k, listener in enumerate(subject.spec.egress):
        port = listener.port
        if port is None or _imports_only_direct_hosts(subject, listener):
            continue
        shown = f"{port.number or 0}/{port.protocol or 'undeclared protocol'}"
        if not port.number and listener.bind:
            shown = f'unix socket "{listener.bind}" ({port.protocol or "undeclared protocol"})'
        yield Violation(
            RULE,
            f"spec.egress[{k}].port",
            f"an egress listener on {shown} serves every host it imports on that port and "
            "protocol: the egress-gateway VirtualServices written for each host's own port "
            "and protocol stop matching and Istio sends the traffic to the host's own "
            "cluster, around the egress gateway; remove port (and bind/captureMode) and "
            "list only hosts",
        )


def _imports_only_direct_hosts(subject: Subject[SidecarSpec], listener: EgressListener) -> bool:
    """True when every service the port listener can import may be reached directly on its
    port and protocol: in-cluster names, or hosts allowlisted for the namespace there that
    need not use the egress gateway."""
    port = listener.port
    if port is None or not port.number or (port.protocol or "").upper() == "HTTP_PROXY":
        return False
    protocol = port.protocol.upper() if port.protocol else None
    for raw in listener.hosts:
        namespace, slash, name = raw.partition("/")
        if not slash or "/" in name:
            continue  # Istio logs it as illegal and imports nothing for it
        if namespace.startswith("~"):
            continue  # an exclusion: it only removes services
        host = name.lower()
        if host != name:
            return False  # imports match case-sensitively; the allowlist is lower-case
        if host not in ("", "*") and not subject.is_external(host):
            continue
        if external_host_problem(subject, name, host) is not None:
            return False
        if subject.policy.requires_gateway(host):
            return False
        if not port_allowed(entries(subject, host), port.number, protocol):
            return False
    return True
