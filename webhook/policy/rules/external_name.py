"""ExternalName: a Service name may alias only in-cluster names and allowlisted, direct hosts.

Istio's ConvertService (pilot/pkg/serviceregistry/kube/conversion.go) reads
``type: ExternalName`` as ``MeshExternal`` with ``Resolution: Alias`` to
``spec.externalName``. Since Istio 1.21 (and unconditionally once the 1.20 compatibility
profile was dropped) an alias builds no cluster or listener of its own
(buildOutboundClusters and buildSidecarOutboundListener skip ``model.Alias``): the
alias name is added to wherever the target is matched (resolveServiceAliases,
generateVirtualHostDomains), so the target's VirtualServices route it, the leg to the
egress gateway included. Since 1.24 there is no other reading (the
ENABLE_EXTERNAL_NAME_ALIAS flag of 1.21-1.23, default true, is gone); before 1.21 it was
a STRICT_DNS cluster straight to the external name, which this webhook does not support.
So the target must be in-cluster, or a canonical host allowlisted for the namespace on
the Service's ports. An IP target has no registry service to alias and is judged as an
address reached directly.

A client calling the alias name is routed as the target, but a route that names the
alias as its *destination* is not: GetDestinationCluster
(pilot/pkg/networking/core/route/route.go) swaps an alias destination for the cluster of
its ``K8sAttributes.ExternalName``, ``outbound|<port>||<target>``, the target's own
cluster, so no VirtualService of the target (the leg to the egress gateway) applies.
HTTP routes at sidecars and gateways (processDestination) and TCP routes
(networkfilter.go) do this, and every Gateway API route with a core ``Service``
backendRef (buildDestination: ``<name>.<ns>.svc.<domain>``) or VirtualService
destination naming the alias becomes one. The route cannot see that its Service is an
alias, so an alias of a gateway-required host is refused here.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.core_addresses import target_problem
from webhook.policy.core_subjects import ServiceSubject
from webhook.policy.decision import Violation
from webhook.policy.hosts import is_ip_literal, shown

RULE = "external-name"


def check(subject: ServiceSubject) -> Iterator[Violation]:
    """An ExternalName Service whose target is outside what the namespace may reach directly."""
    spec = subject.spec
    if not spec.is_external_name:
        return
    target = spec.external_name or ""
    problem = target_problem(subject, target, spec.ports, alias=True)
    if problem is None and _gateway_required(subject, target):
        problem = (
            f"host {shown(target)}'s mesh traffic must go through the egress gateway "
            f'"{subject.policy.egress_gateway_service}", but a route or VirtualService that '
            "names this Service as its destination goes to the host's own cluster, past "
            "every VirtualService of the host; let clients call the host itself (its "
            "ServiceEntry and egress-gateway VirtualService route it)"
        )
    if problem is not None:
        yield Violation(
            RULE,
            "spec.externalName",
            f"Service {subject.namespace}/{subject.name} aliases an outside destination: {problem}",
        )


def _gateway_required(subject: ServiceSubject, target: str) -> bool:
    """True for an external DNS name whose mesh traffic must use the egress gateway."""
    host = target.lower()
    return (
        not is_ip_literal(target)
        and subject.is_external(host)
        and subject.policy.requires_gateway(host)
    )
