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
"""

from __future__ import annotations

from collections.abc import Iterable

from webhook.policy.hosts import host_problem, hosts_overlap
from webhook.policy.index import CompiledPolicy
from webhook.policy.names import is_in_cluster

MESH_INTERNAL = "MESH_INTERNAL"

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


def _internal_name(raw: str, policy: CompiledPolicy) -> bool:
    if host_problem(raw) is not None or raw.startswith("*.") or raw != raw.lower():
        return False
    return not (
        is_in_cluster(raw, policy.cluster_domain)
        or hosts_overlap(raw, policy.egress_gateway_service)
        or policy.entries_for(raw)
    )
