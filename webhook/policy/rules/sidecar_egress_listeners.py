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
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.subject import Subject
from webhook.resources.sidecar import SidecarSpec

RULE = "sidecar-egress-listeners"


def check(subject: Subject[SidecarSpec]) -> Iterator[Violation]:
    """An egress listener with its own port (and so its own protocol)."""
    for k, listener in enumerate(subject.spec.egress):
        port = listener.port
        if port is None:
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
