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
the Service's ports (gateway-required or not: it is routed as that host). An IP target
has no registry service to alias and is judged as an address reached directly.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.core_addresses import target_problem
from webhook.policy.core_subjects import ServiceSubject
from webhook.policy.decision import Violation

RULE = "external-name"


def check(subject: ServiceSubject) -> Iterator[Violation]:
    """An ExternalName Service whose target is outside what the namespace may reach directly."""
    spec = subject.spec
    if not spec.is_external_name:
        return
    target = spec.external_name or ""
    problem = target_problem(subject, target, spec.ports, alias=True)
    if problem is not None:
        yield Violation(
            RULE,
            "spec.externalName",
            f"Service {subject.namespace}/{subject.name} aliases an outside destination: {problem}",
        )
