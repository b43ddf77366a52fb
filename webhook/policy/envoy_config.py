"""What an EnvoyFilter patch can do to where bytes go: its placement, and what its raw value names.

Istio applies a patch wherever `match.context` allows (ANY, the default, is every
sidecar listener both ways and every gateway: `patchContextMatch` in
pilot/pkg/networking/core/envoyfilter/listener_patch.go) and converts `patch.value`
with protojson, which reads snake_case and camelCase alike, and resolves every
`typed_config` by its `@type` (or a TypedStruct's `type_url`), under any key.
So the value is walked whole, keys compared without case or underscores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from webhook.resources.envoy_filter import ConfigPatch

INBOUND = "SIDECAR_INBOUND"

#: applyTo values refused in every context, with what Istio lets them change.
ALWAYS_REFUSED: dict[str, str] = {
    "CLUSTER": (
        "adds or rewrites an upstream cluster (its type, endpoints, TLS SNI): that is where "
        "bytes go, in any context (an inbound cluster pointed outside is dialled by the proxy "
        "itself, which iptables never redirects)"
    ),
    "LISTENER": (
        "adds or rewrites a whole listener, whose filter chains decide where connections go"
    ),
    "FILTER_CHAIN": (
        "adds, removes or rewrites a filter chain (the REGISTRY_ONLY catch-all to "
        "BlackHoleCluster is one)"
    ),
    "LISTENER_FILTER": (
        "changes the listener filters (original_dst, tls_inspector) that decide which filter "
        "chain, and so which destination, a connection gets"
    ),
    "BOOTSTRAP": (
        "adds static clusters, listeners, tracers and stats sinks to the proxy's bootstrap"
    ),
    "EXTENSION_CONFIG": (
        "serves filter configuration of any type by name (ECDS) to filters this object does "
        "not show"
    ),
    "INVALID": "is not a place Istio patches (applyTo is unset or INVALID)",
}

#: applyTo values that route traffic: allowed only on inbound listeners.
ROUTING = frozenset({"NETWORK_FILTER", "HTTP_ROUTE", "ROUTE_CONFIGURATION", "VIRTUAL_HOST"})

#: Envoy extensions that open connections of their own or pick the upstream at run time,
#: recognised as a dotted segment of a filter name or type URL (``envoy.filters.http.lua``,
#: ``type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua``).
UPSTREAM_EXTENSIONS: dict[str, str] = {
    "lua": "runs Lua code, whose httpCall() reaches any cluster the proxy has",
    "wasm": "runs a Wasm module, which can call any cluster (its code may come from a URL)",
    "golang": "loads a Go plugin, which can open any connection",
    "dynamic_modules": "loads a native module, which can open any connection",
    "dynamic_forward_proxy": "connects to whatever host each request names",
    "sni_dynamic_forward_proxy": "connects to whatever host each TLS SNI names",
    "ext_authz": "sends each request to an authorization service of its own",
    "ext_proc": "streams each request to an external processor of its own",
    "tap": "copies traffic to a sink of its own",
    "ratelimit": "calls a rate limit service of its own (local_ratelimit does not)",
    "rate_limit_quota": "calls a rate limit quota service of its own",
    "tcp_proxy": "forwards connections to a cluster of its own choosing",
    # sni_cluster sets envoy.tcp_proxy.cluster to the client's TLS SNI: before an inbound
    # tcp_proxy, a client naming "outbound|443||<host>" is dialled there by the proxy itself.
    "sni_cluster": "sends each TLS connection to whichever cluster its SNI names",
    "udp_proxy": "forwards datagrams to a cluster of its own choosing",
    "original_dst": "forwards to whatever address the connection was headed for",
    "redis_proxy": "routes commands to clusters of its own choosing",
    "thrift_proxy": "routes calls to clusters of its own choosing",
    "dubbo_proxy": "routes calls to clusters of its own choosing",
    "oauth2": "fetches tokens from an endpoint of its own",
    # Envoy's well-known filter state keys (configuration/advanced/well_known_filter_state):
    # envoy.tcp_proxy.cluster picks the tcp_proxy's cluster per connection (an inbound
    # tcp_proxy then dials an outbound cluster itself), envoy.network.upstream_server_name
    # the upstream TLS SNI, envoy.network.transport_socket.original_dst_address the address
    # an ORIGINAL_DST cluster dials. The values are plain strings no key above names.
    "set_filter_state": (
        "sets filter state that overrides the upstream: the tcp_proxy cluster "
        "(envoy.tcp_proxy.cluster), the TLS SNI (envoy.network.upstream_server_name), the "
        "original-destination address"
    ),
    # The AWS filters' credential providers add clusters of their own (instance and task
    # metadata, STS) and fetch from them: the proxy's own connections, never captured.
    "aws_request_signing": "fetches AWS credentials from metadata and STS endpoints itself",
    "aws_lambda": "fetches AWS credentials from metadata and STS endpoints itself",
    # Tracers that bypass clusters (an inbound HCM's `tracing.provider` is a NETWORK_FILTER
    # MERGE that SIDECAR_INBOUND allows): X-Ray's DaemonBrokerImpl opens a UDP socket of its
    # own to `daemon_endpoint` and sends every span there; OpenCensus exporters dial
    # `ocagent_address`, `stackdriver_address` or `zipkin_url` themselves; a dynamic
    # OpenTracing library can do anything. The proxy's own sockets are never captured.
    "xray": "sends trace segments over UDP to a daemon address of its own",
    "opencensus": "exports traces to agent, Stackdriver or Zipkin addresses of its own",
    "dynamic_ot": "loads a tracer library, which can open any connection",
}

#: Keys (lower case, underscores removed: `cluster_name` and `clusterName` alike) whose value
#: is somewhere Envoy sends bytes, or code or configuration fetched from elsewhere.
UPSTREAM_KEYS = frozenset(
    {
        "cluster",
        "clustername",
        "clusterheader",
        "clusters",
        "weightedclusters",
        "clusterspecifierplugin",
        "inlineclusterspecifierplugin",
        "collectorcluster",
        "requestmirrorpolicies",
        "requestmirrorpolicy",
        "grpcservice",
        "grpcservices",
        "httpservice",
        "envoygrpc",
        "googlegrpc",
        "targeturi",
        "serveruri",
        "httpuri",
        "uri",
        "tokenendpoint",
        "remote",
        "remotejwks",
        "configsource",
        "configdiscovery",
        "apiconfigsource",
        "rds",
        "routeconfig",
        "scopedroutes",
        "socketaddress",
        "envoyinternaladdress",
        "resolvers",
        "dnscacheconfig",
        "dnsresolutionconfig",
        "typeddnsresolverconfig",
        "tunnelingconfig",
        "inlinecode",
        "sourcecodes",
        "defaultsourcecode",
        "vmconfig",
        "daemonendpoint",
        "ocagentaddress",
        "stackdriveraddress",
        "zipkinurl",
    }
)

#: Keys whose string value is a filter or extension identifier.
_TYPE_KEYS = frozenset({"@type", "typeurl"})
_CONFIG_KEYS = frozenset({"typedconfig", "config", "configdiscovery"})
#: Headers the route (and the egress gateway) is chosen by.
AUTHORITY_HEADERS = frozenset({":authority", "host"})
#: The request target: a path that does not start with "/" goes out on an HTTP/1.1 request
#: line in absolute form, and the next Envoy takes the Host from it (RFC 7230 5.7;
#: ServerConnectionImpl::handlePath, allow_absolute_url on by default). Envoy's
#: HeaderMutations (header_mutation filter) sets pseudo-headers like any other.
PATH_HEADERS = frozenset({":path"})
_HOST_REWRITE_KEYS = frozenset(
    {"hostrewriteliteral", "hostrewriteheader", "hostrewritepathregex", "autohostrewrite"}
)
_SEGMENT = re.compile(r"[./]")


@dataclass(frozen=True, slots=True)
class Finding:
    """Something in a patch value, at `path` below the value."""

    path: str
    what: str
    why: str


def normal_key(key: str) -> str:
    """A key as protojson reads it: case and underscores do not matter."""
    return key.replace("_", "").lower()


def placement_problem(patch: ConfigPatch) -> tuple[str, str] | None:
    """(field, why) when where the patch applies can redirect bytes whatever its value says."""
    apply_to = patch.apply_to or "INVALID"
    if apply_to in ALWAYS_REFUSED:
        return "applyTo", f"applyTo {apply_to} {ALWAYS_REFUSED[apply_to]}"
    if apply_to in ROUTING and patch.context != INBOUND:
        where = "match.context" if patch.match and patch.match.context else "match"
        return where, (
            f"applyTo {apply_to} in context {patch.context}"
            f"{' (the default)' if where == 'match' else ''} patches "
            "outbound, gateway or waypoint traffic, where it can choose the destination "
            "(route.cluster, "
            "a tcp_proxy, PassthroughCluster) around the egress gateway"
        )
    return None


def value_findings(value: dict[str, Any], context: str) -> Iterator[Finding]:
    """Every upstream the raw Envoy `value` names or opens, walked without recursion."""
    outbound = context != INBOUND
    stack: list[tuple[str, object, bool]] = [("", value, True)]
    while stack:
        path, node, root = stack.pop()
        if isinstance(node, list):
            items = [(f"{path}[{k}]", item, False) for k, item in enumerate(node)]
            stack.extend(reversed(items))
            continue
        if not isinstance(node, dict):
            if outbound and isinstance(node, str) and node.lower() in AUTHORITY_HEADERS:
                yield Finding(
                    path,
                    f'"{node}"',
                    "rewrites the authority of outbound requests, which picks the route and "
                    "the host the egress gateway forwards to",
                )
            elif outbound and isinstance(node, str) and node.lower() in PATH_HEADERS:
                yield Finding(
                    path,
                    f'"{node}"',
                    "rewrites the path of outbound requests after routing; a path in "
                    "absolute form (http://host/...) sets the host the egress gateway or "
                    "the external front end serves",
                )
            continue
        names_filter = root or any(normal_key(k) in _CONFIG_KEYS for k in node)
        children = []
        for key, child in node.items():
            key_text = str(key)
            normal = normal_key(key_text)
            child_path = f"{path}.{key_text}" if path else key_text
            identifier = normal in _TYPE_KEYS or (names_filter and normal == "name")
            if identifier and isinstance(child, str):
                yield from _extension_findings(child_path, child)
            if normal in UPSTREAM_KEYS:
                yield Finding(child_path, f'"{key_text}"', _shown_value(child))
                continue  # one finding per upstream; what it holds is the same door
            if outbound and normal in _HOST_REWRITE_KEYS:
                yield Finding(child_path, f'"{key_text}"', "rewrites the Host of outbound requests")
                continue
            children.append((child_path, child, False))
        stack.extend(reversed(children))


def _extension_findings(path: str, text: str) -> Iterator[Finding]:
    segments = _SEGMENT.split(text.lower())
    for segment, why in UPSTREAM_EXTENSIONS.items():
        if segment in segments:
            yield Finding(path, f'"{text}"', why)
            return


def _shown_value(value: object) -> str:
    if isinstance(value, str):
        return f'names an upstream ("{value}") that this proxy would send bytes to'
    return "configures an upstream (a cluster, service, address or fetched code) of its own"
