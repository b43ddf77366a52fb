"""envoy-filter-patches: where a patch applies decides whether it can redirect bytes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import decide, findings
from tests.unit.sidecar_envoy_filter_objects import (
    HCM,
    LOCAL_RATELIMIT,
    envoy_filter,
    local_ratelimit_filter,
    patch,
)
from webhook.policy.rules.envoy_filter_patches import RULE

STATIC_OUT = {
    "name": "out",
    "type": "STATIC",
    "connect_timeout": "1s",
    "load_assignment": {
        "cluster_name": "out",
        "endpoints": [
            {
                "lb_endpoints": [
                    {
                        "endpoint": {
                            "address": {
                                "socket_address": {"address": "203.0.113.9", "port_value": 443}
                            }
                        }
                    }
                ]
            }
        ],
    },
}
PASSTHROUGH_ROUTE = {"route": {"cluster": "PassthroughCluster"}}
GITHUB_VHOST = {"routeConfiguration": {"vhost": {"name": "api.github.com:443"}}}

BYPASSES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "new cluster to an outside IP, context left to ANY",
        envoy_filter(patch("CLUSTER", STATIC_OUT, operation="ADD")),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "cluster ADD confined to SIDECAR_INBOUND is still a cluster",
        envoy_filter(patch("CLUSTER", STATIC_OUT, operation="ADD", context="SIDECAR_INBOUND")),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "MERGE the host's own cluster into ORIGINAL_DST",
        envoy_filter(
            patch(
                "CLUSTER",
                {"type": "ORIGINAL_DST", "lb_policy": "CLUSTER_PROVIDED"},
                operation="MERGE",
                context="SIDECAR_OUTBOUND",
                cluster={"service": "api.github.com", "portNumber": 443},
            )
        ),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "outbound route merged onto PassthroughCluster",
        envoy_filter(
            patch(
                "HTTP_ROUTE",
                PASSTHROUGH_ROUTE,
                operation="MERGE",
                context="SIDECAR_OUTBOUND",
                **GITHUB_VHOST,
            )
        ),
        ["spec.configPatches[0].match.context"],
    ),
    (
        "route patch with match omitted: context ANY includes outbound",
        envoy_filter(patch("HTTP_ROUTE", {"decorator": {"operation": "x"}}, operation="MERGE")),
        ["spec.configPatches[0].match"],
    ),
    (
        "outbound tcp_proxy merged onto PassthroughCluster",
        envoy_filter(
            patch(
                "NETWORK_FILTER",
                {
                    "name": "envoy.filters.network.tcp_proxy",
                    "typed_config": {
                        "@type": "type.googleapis.com/"
                        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                        "stat_prefix": "x",
                        "cluster": "PassthroughCluster",
                    },
                },
                operation="MERGE",
                context="SIDECAR_OUTBOUND",
                listener={"portNumber": 443},
            )
        ),
        ["spec.configPatches[0].match.context"],
    ),
    (
        "a new catch-all virtual host at a tenant gateway",
        envoy_filter(
            patch(
                "VIRTUAL_HOST",
                {"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}}]},
                operation="ADD",
                context="GATEWAY",
            ),
            targetRefs=[{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "my-gw"}],
        ),
        ["spec.configPatches[0].match.context"],
    ),
    (
        "outbound route configuration, explicit ANY",
        envoy_filter(
            patch("ROUTE_CONFIGURATION", {"vhds": None}, operation="MERGE", context="ANY")
        ),
        ["spec.configPatches[0].match.context"],
    ),
    (
        "remove the REGISTRY_ONLY catch-all filter chain",
        envoy_filter(
            patch(
                "FILTER_CHAIN",
                operation="REMOVE",
                context="SIDECAR_OUTBOUND",
                listener={
                    "name": "virtualOutbound",
                    "filterChain": {"name": "virtualOutbound-blackhole"},
                },
            )
        ),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "a new listener",
        envoy_filter(patch("LISTENER", {"name": "l", "address": {}}, operation="ADD")),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "listener filter removal on the outbound capture listener",
        envoy_filter(
            patch(
                "LISTENER_FILTER",
                operation="REMOVE",
                context="SIDECAR_OUTBOUND",
                listener={"listenerFilter": "envoy.filters.listener.tls_inspector"},
            )
        ),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "bootstrap static cluster",
        envoy_filter(
            patch("BOOTSTRAP", {"static_resources": {"clusters": [STATIC_OUT]}}, operation="MERGE")
        ),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "extension config (ECDS) served by name",
        envoy_filter(
            patch(
                "EXTENSION_CONFIG",
                {"name": "shop.plugin", "typed_config": LOCAL_RATELIMIT["typed_config"]},
                operation="ADD",
            )
        ),
        ["spec.configPatches[0].applyTo"],
    ),
    (
        "a second patch behind an ordinary one, with a workloadSelector and priority",
        envoy_filter(
            patch("HTTP_FILTER", LOCAL_RATELIMIT, context="SIDECAR_INBOUND", listener=HCM),
            patch("CLUSTER", STATIC_OUT, operation="ADD"),
            workloadSelector={"labels": {"app": "productpage"}},
            priority=-100,
        ),
        ["spec.configPatches[1].applyTo"],
    ),
    (
        "a waypoint's route sent to PassthroughCluster (context WAYPOINT, match.waypoint)",
        envoy_filter(
            patch(
                "HTTP_ROUTE",
                PASSTHROUGH_ROUTE,
                operation="MERGE",
                context="WAYPOINT",
                waypoint={"portNumber": 443, "route": {"name": "default"}},
            ),
            targetRefs=[{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "w"}],
        ),
        ["spec.configPatches[0].match.context"],
    ),
    (
        "applyTo unset",
        envoy_filter({"patch": {"operation": "ADD", "value": STATIC_OUT}}),
        ["spec.configPatches[0].applyTo"],
    ),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    ("rate-limit task: local rate limit, SIDECAR_INBOUND", local_ratelimit_filter()),
    ("same filter INSERT_FIRST at priority 10", local_ratelimit_filter(priority=10)),
    (
        "rate-limit task: per-route local rate limit on the inbound route",
        envoy_filter(
            patch(
                "HTTP_ROUTE",
                {
                    "typed_per_filter_config": {
                        "envoy.filters.http.local_ratelimit": LOCAL_RATELIMIT["typed_config"]
                    }
                },
                operation="MERGE",
                context="SIDECAR_INBOUND",
                routeConfiguration={
                    "vhost": {"name": "inbound|http|9080", "route": {"action": "ANY"}}
                },
            )
        ),
    ),
    (
        "inbound HTTP connection manager options",
        envoy_filter(
            patch(
                "NETWORK_FILTER",
                {
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                        "http_connection_manager.v3.HttpConnectionManager",
                        "common_http_protocol_options": {"idle_timeout": "30s"},
                    },
                },
                operation="MERGE",
                context="SIDECAR_INBOUND",
                listener=HCM,
            )
        ),
    ),
    (
        "outbound CORS filter with a static policy",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                {
                    "name": "envoy.filters.http.cors",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
                    },
                },
                context="SIDECAR_OUTBOUND",
                listener=HCM,
            )
        ),
    ),
    (
        # istio/api v1.30 adds the WAYPOINT context and match.waypoint to the CRD
        "local rate limit on a waypoint (context WAYPOINT, match.waypoint, targetRefs)",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                LOCAL_RATELIMIT,
                context="WAYPOINT",
                waypoint={
                    "filter": {
                        "name": "envoy.filters.network.http_connection_manager",
                        "subFilter": {"name": "envoy.filters.http.router"},
                    },
                    "portNumber": 9080,
                },
            ),
            targetRefs=[{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "w"}],
        ),
    ),
    (
        "remove an HTTP filter (context ANY)",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                operation="REMOVE",
                listener={
                    "filterChain": {
                        "filter": {
                            "name": "envoy.filters.network.http_connection_manager",
                            "subFilter": {"name": "envoy.filters.http.fault"},
                        }
                    }
                },
            )
        ),
    ),
]


@pytest.mark.parametrize(("why", "obj", "fields"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypasses_are_refused(why: str, obj: dict[str, Any], fields: list[str]) -> None:
    assert [v.field for v in findings(RULE, obj)] == fields


@pytest.mark.parametrize(("why", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_ordinary_filters_pass(why: str, obj: dict[str, Any]) -> None:
    assert decide(obj).allowed, decide(obj).violations


def test_the_message_says_the_default_context_is_any() -> None:
    (found,) = findings(RULE, envoy_filter(patch("HTTP_ROUTE", {}, operation="MERGE")))
    assert "context ANY (the default)" in found.message
    assert "around the egress gateway" in found.message


def test_the_root_namespace_is_exempt() -> None:
    obj = envoy_filter(patch("CLUSTER", STATIC_OUT, operation="ADD"), namespace="istio-system")
    assert decide(obj).exempt
