"""Sidecar outboundTrafficPolicy may not reopen what the mesh's REGISTRY_ONLY closes.

`initSidecarScopeInternalIndexes` (pilot/pkg/model/sidecar.go) takes the Sidecar's own
outboundTrafficPolicy over the mesh's whenever it is set, and a Sidecar applies to its
namespace's pods (or those its workloadSelector picks; selector Sidecars win first in
`doGetSidecarScope`). With ALLOW_ANY, `IsAllowAnyOutbound` turns the catch-alls that answer
unknown hosts (`buildOutboundCatchAllNetworkFiltersOnly` in listener_builder.go,
`buildCatchAllVirtualHost` in httproute.go) from BlackHoleCluster into PassthroughCluster:
any host, directly. `egressProxy` replaces PassthroughCluster there with a Service of the
tenant's choosing (a forward proxy), and Istio's validation only allows it with ALLOW_ANY;
it is refused on its own so a manifest never depends on that. An explicit REGISTRY_ONLY, or
an empty policy (the proto default is REGISTRY_ONLY), is fine.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.subject import Subject
from webhook.resources.sidecar import SidecarSpec

RULE = "sidecar-outbound-policy"


def check(subject: Subject[SidecarSpec]) -> Iterator[Violation]:
    """mode ALLOW_ANY, or an egressProxy, in a tenant Sidecar."""
    policy = subject.spec.outbound_traffic_policy
    if policy is None:
        return
    who = _selected(subject)
    if policy.mode == "ALLOW_ANY":
        yield Violation(
            RULE,
            "spec.outboundTrafficPolicy.mode",
            f"outboundTrafficPolicy.mode ALLOW_ANY lets {who} reach any host directly, around "
            "the allowlist and the egress gateway; remove it (the mesh default REGISTRY_ONLY "
            "applies)",
        )
    if policy.egress_proxy is not None:
        yield Violation(
            RULE,
            "spec.outboundTrafficPolicy.egressProxy",
            f"outboundTrafficPolicy.egressProxy sends {who}'s traffic for unregistered hosts to "
            f'"{policy.egress_proxy.host}" instead of refusing it; remove it (register hosts '
            "with a ServiceEntry and route them to the egress gateway)",
        )


def _selected(subject: Subject[SidecarSpec]) -> str:
    selector = subject.spec.workload_selector
    if selector is None or not selector.labels:
        return f'every workload in namespace "{subject.namespace}"'
    labels = ",".join(f"{k}={v}" for k, v in sorted(selector.labels.items()))
    return f'the workloads labelled {labels} in namespace "{subject.namespace}"'
