"""Lua TrafficExtensions are refused: the code's httpCall() reaches any cluster its proxy has.

istiod puts ``spec.lua.inlineCode`` verbatim into an ``envoy.filters.http.lua`` filter
(pilot/pkg/networking/core/extension/lua.go `BuildHTTPLuaFilter`, inlined into the HTTP
connection manager by extensionfilter.go `toEnvoyHTTPTrafficExtension`, never through
ECDS or istio-agent). Envoy's Lua API lets that code send requests of its own to any
cluster by name (``request_handle:httpCall(cluster, ...)``), and rewrite ``:authority``
and every header after the routes this webhook checks were chosen: the reason
envoy-filter-upstreams refuses the same filter in an EnvoyFilter, in any context
(webhook/policy/envoy_config.py, UPSTREAM_EXTENSIONS). Lua code in the object cannot be
judged by reading it (``request_handle["http" .. "Call"]`` is the same call), so the
field is refused whatever it holds.

Where it runs (pilot/pkg/model/push_context.go `TrafficExtensionsByListenerInfo`, which
looks in the proxy's own namespace, the root namespace, and for a waypoint the namespaces
of the Services it serves; attachment by model/policyattachment.go `ShouldAttachPolicy`):
with a ``selector`` (or neither field), the sidecars and Istio gateway pods of its
namespace whose labels match (all of them without a selector); with ``targetRefs``, the
pods of a Gateway API Gateway of the namespace, or the waypoint serving a ``Service`` or
``ServiceEntry`` of the namespace, wherever that waypoint lives (an approved egress
waypoint is shared by every namespace using it). The HTTP filter is added to sidecar
outbound and inbound and gateway HTTP listeners
(listener_builder.go `buildHTTPConnectionManager`) and to waypoints
(listener_waypoint.go `buildWaypointHTTPFilters`); ``match`` picks listeners by direction
and port (model/extensions.go `matchTrafficExtensionSelectors`), but httpCall's cluster
is not bound to the listener. Every one of those proxies can reach external hosts by
cluster: a sidecar or gateway has an ``outbound|<port>||<host>`` cluster, dialling the
host itself, for every ServiceEntry it imports (cluster.go `buildClusters`,
`buildOutboundClusters`), a gateway-required host's among them; a waypoint has one per
service it serves (cluster_waypoint.go `buildWaypointInboundVIP`), for an egress waypoint
the external hosts of every namespace that uses it. So no placement is safe, and a Lua
network filter does not exist (extensionfilter.go `toEnvoyNetworkTrafficExtension`).
A Wasm module can make the same calls, but its code comes from a registry the platform
allowlists and vets (wasm-plugin-url), not from the object.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.subject import Subject
from webhook.resources.envoy_filter import PolicyTargetReference
from webhook.resources.traffic_extension import TrafficExtensionSpec

RULE = "traffic-extension-lua"

_FIX = (
    "move the logic into a Wasm module (spec.wasm) loaded from an in-cluster or allowlisted "
    "registry, or ask the platform team to install the filter from an exempt namespace"
)


def check(subject: Subject[TrafficExtensionSpec]) -> Iterator[Violation]:
    """Lua code in a TrafficExtension, wherever it attaches."""
    if subject.spec.lua is None:
        return
    yield Violation(
        RULE,
        "spec.lua.inlineCode",
        f"Lua code runs on {_placement(subject)}, where its httpCall() can send requests to "
        "any cluster that proxy has (an external host's own cluster included) and it can "
        "rewrite :authority after routing, around the egress gateway and the allowlist; "
        f"{_FIX}",
    )


def _placement(subject: Subject[TrafficExtensionSpec]) -> str:
    """The proxies Istio gives the filter to, in the words of policyattachment.go."""
    spec, namespace = subject.spec, subject.namespace
    if spec.target_refs:
        return "; ".join(_target(ref, namespace) for ref in spec.target_refs)
    labels = spec.selector.match_labels if spec.selector else None
    if labels:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        return f"the sidecars and gateways of pods labelled {shown} in namespace {namespace!r}"
    return f"every sidecar and gateway in namespace {namespace!r}"


def _target(ref: PolicyTargetReference, namespace: str) -> str:
    kind, name = ref.kind or "", ref.name or ""
    if kind == "Service":
        return (
            f"the waypoint serving Service {namespace}/{name} (which may run in another namespace)"
        )
    if kind == "ServiceEntry":
        return (
            f"the waypoint serving ServiceEntry {namespace}/{name} (an egress waypoint, "
            "shared with every namespace that uses it)"
        )
    if kind == "GatewayClass":
        return f"every waypoint of GatewayClass {name!r} (from the mesh root namespace)"
    return f"the proxies of {kind} {namespace}/{name}"
