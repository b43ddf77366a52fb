"""Gateway servers on the egress gateway pods open only hosts allowlisted for their namespace.

A Gateway programs every gateway pod its selector matches, in every namespace
(PushContext.mergeGateways: ``labels.Instance(selector).SubsetOf(proxy.Labels)``, or every
gateway pod without a selector; PILOT_SCOPE_GATEWAY_TO_NAMESPACE is off by default). The
egress pods carry more labels than egressGateway.selector names: Istio's charts and
injector add service.istio.io/canonical-name (the gateway's name),
operator.istio.io/component ``EgressGateways``, istio.io/rev, sidecar.istio.io/inject and
others (egress_pods.may_pick_egress_pods), so a selector of those picks them too, and
model.mergeGateways merges its servers with the egress gateway's own. Such a server is an
egress server: each `hosts` entry (istio/api Gateway.Server.hosts: ``ns/host``,
``./host``, ``*/host``, a bare ``host`` meaning ``*/host``; model.sanitizeServerHostNamespace)
must be an external host allowlisted for the Gateway's namespace, never ``*`` or ``*/*``.
A namespace-restricted host may only bind VirtualServices of the namespaces allowed to use
it. ``tls.mode: AUTO_PASSTHROUGH`` is refused there: networking/core/gateway.go
builtAutoPassthroughFilterChains forwards by SNI to every in-mesh service (and
MESH_INTERNAL ServiceEntry) the gateway sees, with no VirtualService to check. The
server's port and protocol are where the gateway listens, not where it forwards (the
VirtualServices bound to it say that, and are checked), so they are not judged here.
Its ``bind`` is, when it is an address (a ``unix://`` socket is reached only from inside
the pod): mergeGateways keys servers by port, protocol *and* bind, so its protocol-conflict
and duplicate-SNI checks (``current.Bind == serverPort.Bind``, CheckDuplicates) never set a
server with its own bind against the egress gateway's servers, and
networking/core/gateway.go buildGatewayListeners gives each bind a listener of its own.
Bound to the pod's IP, that listener is more specific than the egress gateway's
``0.0.0.0`` one on the same port, and the kernel hands it every connection to the pod's
address, which is where sidecars send (EDS): the whole mesh's egress on that port is
served by the tenant's server and routed by the tenant's VirtualServices (a TCP server
sends it all to one destination, whatever host each client asked for). Spelled
``0.0.0.0``, it lands in the egress gateway's own listener by name (getListenerName) past
those checks: duplicate filter chain matches, which Envoy rejects with the listener.
Gateways on other pods (ingress gateways, a tenant's own) are not egress servers.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import entries, external_host_problem
from webhook.policy.decision import Violation
from webhook.policy.gateway_subject import ANY_NAMESPACE, GatewaySubject, ServerHost
from webhook.policy.hosts import shown

RULE = "gateway-servers"

#: istio/api Server.bind: a Unix domain socket, reached only from inside the gateway pod.
UNIX_BIND = "unix://"


def check(subject: GatewaySubject) -> Iterator[Violation]:
    """A host, host scope or TLS mode on the egress pods that opens what the allowlist does not."""
    if not subject.may_program_egress_pods:
        return
    where = _where(subject)
    for k, server in enumerate(subject.spec.servers):
        for j, host in enumerate(subject.server_hosts(k)):
            field = f"spec.servers[{k}].hosts[{j}]"
            problem = external_host_problem(subject, host.host, host.host.lower())
            if problem is not None:
                yield Violation(
                    RULE,
                    field,
                    f"{where}: server {problem}; a server there may expose only external "
                    f'hosts allowlisted for namespace "{subject.namespace}"',
                )
                continue
            yield from _scope(subject, field, host)
        if server.tls is not None and server.tls.effective_mode == "AUTO_PASSTHROUGH":
            yield Violation(
                RULE,
                f"spec.servers[{k}].tls.mode",
                f"{where}: AUTO_PASSTHROUGH forwards by SNI to every in-mesh service the "
                "gateway sees, with no VirtualService to say where; use PASSTHROUGH (or "
                "ISTIO_MUTUAL) and route with a VirtualService",
            )
        if server.bind and not server.bind.startswith(UNIX_BIND):
            yield Violation(
                RULE,
                f"spec.servers[{k}].bind",
                f"{where}: bind {shown(server.bind)} gives the server a listener of its own "
                "at that address, which the egress gateway's servers are never checked "
                "against: bound to a pod's address it takes every connection sent to that "
                "port of the pod, the whole mesh's egress there, and routes it by this "
                "Gateway's VirtualServices; remove bind",
            )


def _where(subject: GatewaySubject) -> str:
    if subject.selects_every_gateway:
        return (
            "the Gateway has no selector, so Istio applies it to every gateway pod, the "
            "egress gateway's included"
        )
    labels = ", ".join(f"{k}={v}" for k, v in sorted((subject.spec.selector or {}).items()))
    return f"selector {{{labels}}} programs the egress gateway pods"


def _scope(subject: GatewaySubject, field: str, host: ServerHost) -> Iterator[Violation]:
    """A restricted host may bind only VirtualServices of the namespaces that may use it."""
    found = entries(subject, host.host.lower())
    if any(e.namespaces is None for e in found):
        return
    allowed = {ns for e in found for ns in e.namespaces or ()}
    allowed |= {subject.namespace, *subject.policy.egress_gateway_namespaces}
    if host.namespace in allowed:
        return
    who = (
        "VirtualServices of every namespace"
        if host.namespace == ANY_NAMESPACE
        else f'VirtualServices of namespace "{host.namespace}"'
    )
    yield Violation(
        RULE,
        field,
        f"server host {shown(host.raw)} lets {who} route {shown(host.host)} at the egress "
        "gateway, but only "
        f"{', '.join(sorted(allowed))} may use it (its allowlist namespaces and the egress "
        f'gateway\'s); write "./{host.host}"',
    )
