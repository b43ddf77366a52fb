"""ServiceEntries that only name their own namespace's mesh workloads (VMs), not the outside.

A ServiceEntry with a `workloadSelector` takes its endpoints from the pods and
WorkloadEntries of its own namespace whose labels match (istio/api service_entry.proto
`workloadSelector`: "applicable only for MESH_INTERNAL services"; the serviceentry
controller's workloadInstanceHandler / convertWorkloadEntryToWorkloadInstance in
pilot/pkg/serviceregistry/serviceentry/), and the webhook judges those WorkloadEntries
themselves (workload-entry-endpoint). Such an entry opens no way out when it lists no
endpoints or addresses of its own and its hosts are exact names outside the cluster
domain that no allowlist entry contains: it can then neither reach an external host nor
capture an allowlisted name's traffic. Istio's "Virtual Machine" docs and the
WorkloadEntry reference pair exactly this with their WorkloadEntries.

Only when it resolves to those workloads: STATIC (EDS), or DNS/DNS_ROUND_ROBIN, which
take the workloads' addresses and never the host itself when a selector is set
(convertServiceEntryToInstances in pilot/pkg/serviceregistry/serviceentry/conversion.go).
NONE, the default (Istio only warns about it with a selector), is model.Passthrough, an
ORIGINAL_DST cluster at every sidecar (convertResolution in pilot/pkg/networking/core/
cluster.go): the host's listener forwards to whatever IP the application dialled, on a
TCP port any IP at all; DYNAMIC_DNS connects to the name the request carries.

An entry whose endpoints are all ``unix://`` sockets (the ServiceEntry reference's
`unix-domain-socket-example`) names no network destination either: with STATIC resolution
each endpoint becomes a pipe address (`BuildAddress` in pilot/pkg/networking/util/util.go,
`convertEndpoint` in serviceentry/conversion.go), a socket in the calling proxy's own pod
(a path, or an abstract name in the pod's network namespace), and whatever listens there
is the pod's own, whose connections the sidecar captures. With no `network`, no
`addresses` and no `workloadSelector`, and the same hosts as above (no allowlisted name's
traffic captured), it opens no way out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from webhook.policy.hosts import host_problem, hosts_overlap
from webhook.policy.index import CompiledPolicy
from webhook.policy.names import is_in_cluster

MESH_INTERNAL = "MESH_INTERNAL"
#: model.UnixAddressPrefix: an endpoint address that is a socket path in the proxy's pod.
UNIX_PREFIX = "unix://"

#: Resolutions whose endpoints are the selected workloads, never the outside.
WORKLOAD_RESOLUTIONS = frozenset({"STATIC", "DNS", "DNS_ROUND_ROBIN"})


def names_mesh_workloads(
    hosts: Iterable[str],
    *,
    location: str | None,
    resolution: str | None,
    selects_workloads: bool,
    lists_endpoints: bool,
    policy: CompiledPolicy,
) -> bool:
    """True for an entry that only names in-mesh workloads (see the module docstring)."""
    if not selects_workloads or location != MESH_INTERNAL or lists_endpoints:
        return False
    if resolution not in WORKLOAD_RESOLUTIONS:
        return False  # NONE (the default) passes through to the dialled IP
    hosts = list(hosts)
    return bool(hosts) and all(_internal_name(raw, policy) for raw in hosts)


def names_local_sockets(
    hosts: Iterable[str],
    *,
    resolution: str | None,
    selects_workloads: bool,
    has_addresses: bool,
    endpoints: Sequence[tuple[str, str]],
    policy: CompiledPolicy,
) -> bool:
    """True for a STATIC entry whose endpoints, (address, network) pairs, are all unix
    sockets in the caller's own pod (see the module docstring)."""
    if selects_workloads or has_addresses or resolution != "STATIC" or not endpoints:
        return False
    if not all(address.startswith(UNIX_PREFIX) and not network for address, network in endpoints):
        return False
    hosts = list(hosts)
    return bool(hosts) and all(_internal_name(raw, policy) for raw in hosts)


def _internal_name(raw: str, policy: CompiledPolicy) -> bool:
    if host_problem(raw) is not None or raw.startswith("*.") or raw != raw.lower():
        return False
    return not (
        is_in_cluster(raw, policy.cluster_domain)
        or hosts_overlap(raw, policy.egress_gateway_service)
        or policy.entries_for(raw)
    )
