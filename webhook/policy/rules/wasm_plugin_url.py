"""Wasm module URLs: istio-agent in the tenant's pod fetches the module from the host a URL names.

The module is a WasmPlugin's ``spec.url`` or a TrafficExtension's ``spec.wasm.url``: one
path in istiod. A WasmPlugin becomes a synthetic TrafficExtension whose ``wasm`` holds
its url, sha256, pull policy and secret, config and VM settings
(pilot/pkg/config/kube/extensions/translate.go `translateWasmPlugin`), and both are built
by pilot/pkg/model/extensions.go `TrafficExtensionWrapper.buildWasmConfig`: url.Parse
(no scheme means oci://), then `buildDataSource`, a remote data source or a local file
for file://. The filter reaches the proxy by ECDS (core/extension/extensionfilter.go
`toEnvoyHTTPTrafficExtension`, `InsertedTrafficExtensionConfigurations`), and istio-agent
resolves the remote source before Envoy sees it (pkg/istio-agent/xds_proxy.go ->
pkg/wasm/convert.go `MaybeConvertWasmExtensionConfig` -> pkg/wasm/cache.go
`LocalFileCache.getOrFetch`): http and https through Go's http.Client
(pkg/wasm/httpfetcher.go `HTTPFetcher.Fetch`, redirects followed), oci through
go-containerregistry (pkg/wasm/imagefetcher.go `ImageFetcher.PrepareFetch`, registry
``u.Host`` when it holds "." or ":", else Docker Hub; a registry answering plain HTTP is
retried over http). The agent runs as the proxy's user, whose traffic the sidecar does not
capture, so the fetch leaves the pod directly, never through the egress gateway. The
registry host is judged on the URL's port or 443; file:// reads a file already in the
proxy container and is not a connection. ``imagePullSecret`` only authenticates the same
fetch, ``sha256`` only checks it, and ``pluginConfig`` and ``vmConfig`` are handed to the
module: none changes where the agent connects.

What the module does once loaded is not in view: Envoy's Wasm host lets it call any
cluster the proxy has (``dispatch_http_call``, Context::httpCall) and open gRPC calls to
a GrpcService it builds (Context::grpcCall), so a module is trusted code (README: What a
single admission webhook cannot see).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.fetched_urls import fetch_problem, wasm_module_target
from webhook.policy.hosts import shown
from webhook.policy.subject import Subject
from webhook.resources.traffic_extension import TrafficExtensionSpec
from webhook.resources.wasm_plugin import WasmModule, WasmPluginSpec

RULE = "wasm-plugin-url"

_FETCHER = "istio-agent in the workload's pod"
_FIX = (
    "load the module from an in-cluster registry or server, or ask the platform team to "
    "allowlist the host for direct fetches (outside egressGateway.requireFor)"
)


def check(subject: Subject[WasmPluginSpec] | Subject[TrafficExtensionSpec]) -> Iterator[Violation]:
    """A module URL whose host the namespace may not fetch from."""
    found = _module(subject.spec)
    if found is None:
        return
    module, field = found
    url = module.url
    target = wasm_module_target(url)
    if target is None:
        return
    if isinstance(target, str):
        yield Violation(RULE, field, f"url {shown(url)} {target}; {_FIX}")
        return
    problem = fetch_problem(subject, target, _FETCHER, in_tenant_pod=True)
    if problem is not None:
        yield Violation(
            RULE,
            field,
            f"url {shown(url)} is fetched from {target} by {_FETCHER}, not through the "
            f"egress gateway: {problem}; {_FIX}",
        )


def _module(spec: WasmPluginSpec | TrafficExtensionSpec) -> tuple[WasmModule, str] | None:
    """The module a spec loads and the path of its url; None for a Lua TrafficExtension."""
    if isinstance(spec, TrafficExtensionSpec):
        return (spec.wasm, "spec.wasm.url") if spec.wasm is not None else None
    return spec, "spec.url"
