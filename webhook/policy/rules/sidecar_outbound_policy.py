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

An ingress listener's `defaultEndpoint` is where the sidecar forwards what arrives on its
port: `buildInboundClustersFromSidecar` (pilot/pkg/networking/core/cluster.go) makes a
STATIC inbound cluster of its address, so any address there is a way out for whatever a
workload sends to its own pod (`0.0.0.0` becomes the pod's IP). Istio's validation
(`ValidateSidecar`, pkg/config/validation/validation.go) admits only `127.0.0.1`,
`0.0.0.0`, `[::1]`, `[::]`, an empty host or `unix://`; anything else is refused here too, so a
manifest never depends on that webhook being installed.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.subject import Subject
from webhook.resources.sidecar import SidecarSpec

RULE = "sidecar-outbound-policy"


#: Hosts of an ingress `defaultEndpoint` that stay on the pod (ValidateSidecar's list).
LOCAL_ENDPOINT_HOSTS = frozenset({"", "127.0.0.1", "0.0.0.0", "::1", "::"})  # noqa: S104


def check(subject: Subject[SidecarSpec]) -> Iterator[Violation]:
    """mode ALLOW_ANY, an egressProxy, or an ingress defaultEndpoint off the pod."""
    yield from _ingress_endpoints(subject)
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


def _ingress_endpoints(subject: Subject[SidecarSpec]) -> Iterator[Violation]:
    for i, listener in enumerate(subject.spec.ingress):
        endpoint = listener.default_endpoint
        if endpoint is None or endpoint.startswith("unix://") or _is_local(endpoint):
            continue
        yield Violation(
            RULE,
            f"spec.ingress[{i}].defaultEndpoint",
            f'ingress defaultEndpoint "{endpoint}" forwards what arrives at the sidecar to an '
            "address off the pod, around the allowlist and the egress gateway; use "
            "127.0.0.1:<port>, 0.0.0.0:<port> or unix://",
        )


def _is_local(endpoint: str) -> bool:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit():
        return False
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host in LOCAL_ENDPOINT_HOSTS
