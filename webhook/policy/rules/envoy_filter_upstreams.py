"""EnvoyFilter values that open connections of their own, or name an upstream, are refused.

An HTTP filter runs in whatever context it is placed, and some open their own upstream
connections: Lua's `httpCall`, Wasm's `dispatch_http_call`, ext_authz/ext_proc services,
the dynamic forward proxy, sni_cluster (the client's SNI names the tcp_proxy's cluster), tap
sinks, global rate limit services, OAuth2 and JWKS fetches,
the AWS filters' credential fetches, and tracers set on an inbound HTTP connection manager
(X-Ray's DaemonBrokerImpl sends spans over a UDP socket of its own to `daemon_endpoint`,
an address no cluster names; OpenCensus exporters dial theirs). `set_filter_state` (HTTP
or network) picks the upstream through Envoy's well-known filter state keys
(`envoy.tcp_proxy.cluster`, `envoy.network.upstream_server_name`, ...), whose values are
strings no key names.
Istio converts `patch.value` with protojson (`xds.BuildXDSObjectFromStruct`), so a
`typed_config` can sit under any key, in snake_case or camelCase; the whole value is
walked (webhook/policy/envoy_config.py) for such extensions (by filter name, `@type` or a
TypedStruct's `type_url`) and for keys that name an upstream (`cluster`, `cluster_name`,
`cluster_header`, `grpc_service`, `http_service.server_uri`, `google_grpc.target_uri`,
addresses, DNS resolvers). Outside SIDECAR_INBOUND a value that rewrites `:authority`/Host
is refused too: the route, and the host the egress gateway forwards to, are picked by it;
so is one naming `:path`: Envoy's HeaderMutations sets pseudo-headers, and a path in
absolute form is read as the Host by the next Envoy (ServerConnectionImpl::handlePath).
A filter confined to SIDECAR_INBOUND that names no upstream (local rate limit, header
manipulation, CORS) is ordinary. Patches refused for their placement are left to
envoy-filter-patches.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.envoy_config import placement_problem, value_findings
from webhook.policy.subject import Subject
from webhook.resources.envoy_filter import EnvoyFilterSpec

RULE = "envoy-filter-upstreams"


def check(subject: Subject[EnvoyFilterSpec]) -> Iterator[Violation]:
    """A filter that opens its own connections, or a value naming an upstream, in any context."""
    for k, patch in enumerate(subject.spec.config_patches):
        value = patch.patch.value if patch.patch else None
        if not value or placement_problem(patch) is not None:
            continue
        for found in value_findings(value, patch.context):
            yield Violation(
                RULE,
                f"spec.configPatches[{k}].patch.value.{found.path}".rstrip("."),
                f"{found.what} {found.why}, around the routes the egress policy checks "
                f"(context {patch.context}); remove it, or ask the platform team to install "
                "it from an exempt namespace",
            )
