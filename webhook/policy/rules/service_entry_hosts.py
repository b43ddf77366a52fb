"""ServiceEntry hosts: every host is a plain external name in the namespace's allowlist.

Istio compares hosts as strings (pkg/config/host Name.Matches / SubsetOf: a plain
suffix test, case- and trailing-dot-sensitive; ``*`` matches everything), and its
validation accepts partial wildcards such as ``*hub.com`` (ValidateWildcardDomain).
So a host is accepted only in the one form where string containment and DNS agree:
lower-case ASCII labels, an optional leading ``*.``, no trailing dot, no IP literal
(ServiceEntry.hosts in istio/api service_entry.proto), inside an allowlist entry.

Lower case too: Istio keeps a ServiceEntry host as written (convertServices in
pilot/pkg/serviceregistry/serviceentry/conversion.go; validation and the CRD accept
upper-case letters), and on TCP and TLS ports a sidecar picks the VirtualServices for it
with the case-sensitive host.Name.Matches (getConfigsForHost in
pilot/pkg/networking/core/tls.go, called by buildSidecarOutboundTCPListenerOpts in
listener.go). ``API.GITHUB.COM`` is matched by no ``api.github.com`` VirtualService there,
so the egress-gateway route is skipped and the SNI-matched filter chain goes straight to
the host (buildSidecarOutboundTLSFilterChainOpts).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import external_host_problem
from webhook.policy.decision import Violation
from webhook.policy.subject import ServiceEntrySubject

RULE = "service-entry-hosts"


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A host outside the allowlist, in the cluster domain, or read differently by Istio."""
    if not subject.spec.hosts:
        yield Violation(RULE, "spec.hosts", "a ServiceEntry must name at least one host")
    if subject.names_mesh_workloads or subject.names_local_sockets:
        return  # names for its own namespace's VMs and pods, or the pod's own sockets
    for i, raw in enumerate(subject.spec.hosts):
        host = raw.lower()
        problem = external_host_problem(subject, raw, host)
        if problem is None and raw != host:
            problem = (
                f'host "{raw}" has upper-case letters: Istio matches VirtualServices to a '
                "ServiceEntry host case-sensitively on TCP and TLS ports, so the routes "
                f'written for "{host}" (the egress gateway\'s among them) would not apply; '
                f'write "{host}"'
            )
        if problem is not None:
            yield Violation(RULE, f"spec.hosts[{i}]", problem)
