"""EnvoyFilter patches placed where they decide where bytes go are refused, whatever their value.

Istio (pilot/pkg/networking/core/envoyfilter/) applies CLUSTER (`ApplyClusterMerge`,
`InsertedClusters`), LISTENER, FILTER_CHAIN and LISTENER_FILTER (`ApplyListenerPatches`),
BOOTSTRAP and EXTENSION_CONFIG (`InsertedExtensionConfigurations`) patches as raw Envoy
configuration: each can add or rewrite a destination, so they are refused in every
context. NETWORK_FILTER (`patchNetworkFilters`), ROUTE_CONFIGURATION, VIRTUAL_HOST and
HTTP_ROUTE (`ApplyRouteConfigurationPatches`) choose the upstream of the traffic they
touch, so they may only touch inbound traffic: `match.context` SIDECAR_INBOUND. WAYPOINT
(istio/api v1.30; route_patch.go patches a waypoint's routes, `hasRouteMatch`) is refused
for them like GATEWAY: a waypoint's routes pick the upstream of every client it serves.
`patchContextMatch` makes ANY (the proto default, also when `match` is omitted) match
outbound and gateway listeners too. `workloadSelector` and `targetRefs` only narrow which
proxies get a patch (`PolicyMatcherForProxy`), so they change nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.envoy_config import placement_problem
from webhook.policy.subject import Subject
from webhook.resources.envoy_filter import EnvoyFilterSpec

RULE = "envoy-filter-patches"


def check(subject: Subject[EnvoyFilterSpec]) -> Iterator[Violation]:
    """A patch whose applyTo and context can send traffic around the egress gateway."""
    for k, patch in enumerate(subject.spec.config_patches):
        found = placement_problem(patch)
        if found is None:
            continue
        field, why = found
        yield Violation(
            RULE,
            f"spec.configPatches[{k}].{field}",
            f"{why}; a tenant EnvoyFilter may only patch HTTP filters, or routes and network "
            "filters of SIDECAR_INBOUND, with values that name no upstream",
        )
