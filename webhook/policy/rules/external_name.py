"""ExternalName: a Service name may alias only in-cluster names and allowlisted, direct hosts.

Istio's ConvertService (pilot/pkg/serviceregistry/kube/conversion.go) reads
``type: ExternalName`` as ``MeshExternal`` with ``Resolution: Alias`` to
``spec.externalName``. Since Istio 1.21 (and unconditionally once the 1.20 compatibility
profile was dropped) an alias builds no cluster or listener of its own
(buildOutboundClusters and buildSidecarOutboundListener skip ``model.Alias``): the
alias name is added to wherever the target is matched (resolveServiceAliases,
generateVirtualHostDomains). Before 1.21, and with ENABLE_EXTERNAL_NAME_ALIAS=false, it
was a STRICT_DNS cluster straight to the external name on the Service's ports. Outside
the mesh, kube-dns answers the Service name with a CNAME to it either way. So the target
must be in-cluster, or allowlisted for the namespace on the Service's ports and for a
host whose mesh traffic need not go through the egress gateway: a name that reaches a
gateway-required host directly is refused whatever Istio version reads it.
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
