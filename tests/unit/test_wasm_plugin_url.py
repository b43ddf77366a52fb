"""wasm-plugin-url: the host istio-agent fetches a Wasm module from, in the tenant's pod.

A WasmPlugin's `url` and a TrafficExtension's `wasm.url` are one field to istiod (it
translates the first into the second), so every WasmPlugin row is also run as a
TrafficExtension and must get the same verdict and message."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.fetch_objects import (
    DOCS_WASM,
    FETCH_POLICY,
    PROTO_WASM,
    traffic_extension,
    wasm_plugin,
)
from tests.unit.istio_objects import findings
from webhook.policy.fetched_urls import DOCKER_HUB, wasm_module_target
from webhook.policy.rules.wasm_plugin_url import RULE

BYPASSES: list[tuple[str, dict[str, Any]]] = [
    ("an unlisted registry", wasm_plugin("oci://evil.example.org/m:1")),
    ("no scheme is oci://", wasm_plugin("evil.example.org/m:1")),
    ("an unlisted https server", wasm_plugin("https://evil.example.org/m.wasm")),
    ("plain http", wasm_plugin("http://evil.example.org/m.wasm")),
    ("userinfo trick", wasm_plugin("https://ghcr.io@evil.org/m.wasm")),
    ("userinfo trick on oci", wasm_plugin("oci://ghcr.io@evil.org/m:1")),
    ("a first element without . or : goes to Docker Hub", wasm_plugin("oci://ghcr/m:1")),
    ("docker.io is Docker Hub", wasm_plugin("docker.io/library/m:1")),
    ("a gateway-required host", wasm_plugin("https://api.github.com/m.wasm")),
    ("a registry on a port its entry does not allow", wasm_plugin("oci://ghcr.io:5000/m:1")),
    ("an external IP literal", wasm_plugin("oci://203.0.113.7/m:1")),
    ("trailing dot", wasm_plugin("oci://ghcr.io./m:1")),
    ("a single-label registry", wasm_plugin("oci://registry:5000/m:1")),
    ("a namespace-restricted registry", wasm_plugin("oci://registry.partner.example/m:1")),
    ("percent-escaped host", wasm_plugin("https://ghcr%2eio/m.wasm")),
    ("a scheme istio-agent does not fetch", wasm_plugin("ftp://ghcr.io/m.wasm")),
    ("empty", wasm_plugin("")),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    ("the Istio docs' WasmPlugin (ghcr.io allowlisted)", wasm_plugin(DOCS_WASM)),
    (
        "with sha256, pull secret, pull policy, config, phase and match",
        wasm_plugin(
            DOCS_WASM,
            sha256="a" * 64,
            imagePullSecret="ghcr-pull",
            imagePullPolicy="Always",
            pluginConfig={"basic_auth_rules": [{"prefix": "/productpage"}]},
            pluginName="basic_auth",
            phase="AUTHN",
            priority=10,
            failStrategy="FAIL_CLOSE",
            vmConfig={"env": [{"name": "POD_NAME", "valueFrom": "HOST"}]},
            match=[{"mode": "SERVER", "ports": [{"number": 8080}]}],
            type="HTTP",
        ),
    ),
    ("no scheme, allowlisted registry", wasm_plugin("ghcr.io/istio-ecosystem/m:1")),
    ("upper-case scheme and host", wasm_plugin("OCI://GHCR.IO/istio-ecosystem/m:1")),
    ("a module in the proxy container", wasm_plugin("file:///opt/filters/m.wasm")),
    ("an in-cluster registry", wasm_plugin("oci://registry.tools.svc.cluster.local:5000/m:1")),
    ("an in-cluster IP", wasm_plugin("http://10.0.0.5:8080/m.wasm")),
]


#: TrafficExtensions whose module istio-agent would fetch from a host the namespace may not use.
TRAFFIC_EXTENSION_BYPASSES: list[tuple[str, dict[str, Any]]] = [
    ("an unlisted registry", traffic_extension(wasm={"url": "oci://evil.example.org/m:1"})),
    ("a gateway-required host", traffic_extension(wasm={"url": "https://api.github.com/m.wasm"})),
    ("no scheme and no registry is Docker Hub", traffic_extension(wasm={"url": "basic_auth:1"})),
    (
        # traffic_extension.proto's https example: a single-label placeholder host
        "the proto's https example",
        traffic_extension(
            wasm={
                "url": "https://private-bucket/filters/openid.wasm",
                "imagePullPolicy": "Always",
                "pluginConfig": {"openid_server": "authn", "openid_realm": "ingress"},
            },
            phase="AUTHN",
        ),
    ),
    (
        "at a Service's waypoint: istio-agent in the waypoint pod fetches it",
        traffic_extension(
            targetRefs=[{"kind": "Service", "group": "", "name": "reviews"}],
            wasm={"url": "oci://evil.example.org/m:1"},
        ),
    ),
]

TRAFFIC_EXTENSION_ORDINARY: list[tuple[str, dict[str, Any]]] = [
    (
        # traffic_extension.proto's WasmConfig example, gcr.io allowlisted outside requireFor
        "the proto's WasmConfig example",
        traffic_extension(
            wasm={
                "url": PROTO_WASM,
                "sha256": "b" * 64,
                "imagePullPolicy": "IfNotPresent",
                "imagePullSecret": "gcr-secret",
                "pluginName": "my-filter",
                "pluginConfig": {"key1": "value1", "key2": "value2"},
                "failStrategy": "FAIL_CLOSE",
                "vmConfig": {"env": [{"name": "SOME_ENV_VAR", "value": "some_value"}]},
                "type": "HTTP",
            },
            phase="AUTHZ",
            priority=1000,
            match=[{"mode": "CLIENT", "ports": [{"number": 8080}]}],
        ),
    ),
    (
        "the proto's file:// example",
        traffic_extension(
            wasm={
                "url": "file:///opt/filters/openid.wasm",
                "sha256": "1ef0c9a92b0420cf25f7fe5d481b231464bc88f486ca3b9c83ed5cc21d2f6210",
                "pluginConfig": {"openid_server": "authn", "openid_realm": "ingress"},
            },
            phase="AUTHN",
        ),
    ),
    (
        "the docs' module at a waypoint",
        traffic_extension(
            targetRefs=[
                {"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "waypoint"}
            ],
            wasm={"url": DOCS_WASM},
        ),
    ),
    ("Lua has no module (traffic-extension-lua judges it)", traffic_extension(lua="-- nothing")),
]


@pytest.mark.parametrize(("name", "obj"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypasses_are_denied(name: str, obj: dict[str, Any]) -> None:
    assert [v.field for v in findings(RULE, obj, FETCH_POLICY)] == ["spec.url"], name


@pytest.mark.parametrize(("name", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_ordinary_configurations_are_admitted(name: str, obj: dict[str, Any]) -> None:
    assert findings(RULE, obj, FETCH_POLICY) == [], name


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (DOCS_WASM, "ghcr.io:443"),
        ("ghcr.io/a/b:1", "ghcr.io:443"),
        ("//ghcr.io/a/b:1", "ghcr.io:443"),
        ("basic_auth:1", f"{DOCKER_HUB}:443"),  # no "/": all repository, go-containerregistry
        ("oci://basic_auth:1", f"{DOCKER_HUB}:443"),
        ("oci://ghcr.io?x=/a", f"{DOCKER_HUB}:443"),  # the query is no path
        ("oci://localhost:5000/m", "localhost:5000"),
        ("oci://[fd00::1]:5000/m", "[fd00::1]:5000"),
        ("http://a.example.com/m.wasm", "a.example.com:80"),
    ],
)
def test_the_registry_is_read_as_istio_agent_reads_it(url: str, target: str) -> None:
    assert str(wasm_module_target(url)) == target


@pytest.mark.parametrize(
    ("name", "obj"), TRAFFIC_EXTENSION_BYPASSES, ids=[b[0] for b in TRAFFIC_EXTENSION_BYPASSES]
)
def test_traffic_extension_bypasses_are_denied(name: str, obj: dict[str, Any]) -> None:
    assert [v.field for v in findings(RULE, obj, FETCH_POLICY)] == ["spec.wasm.url"], name


@pytest.mark.parametrize(
    ("name", "obj"), TRAFFIC_EXTENSION_ORDINARY, ids=[o[0] for o in TRAFFIC_EXTENSION_ORDINARY]
)
def test_ordinary_traffic_extensions_are_admitted(name: str, obj: dict[str, Any]) -> None:
    assert findings(RULE, obj, FETCH_POLICY) == [], name


@pytest.mark.parametrize(
    ("name", "obj"), BYPASSES + ORDINARY, ids=[row[0] for row in BYPASSES + ORDINARY]
)
def test_a_traffic_extension_module_is_judged_as_a_wasm_plugin_url(
    name: str, obj: dict[str, Any]
) -> None:
    """translate.go `translateWasmPlugin` makes the url a TrafficExtension's wasm.url."""
    plugin = findings(RULE, obj, FETCH_POLICY)
    extension = findings(RULE, traffic_extension(wasm={"url": obj["spec"]["url"]}), FETCH_POLICY)
    assert [v.message for v in extension] == [v.message for v in plugin], name
    assert {v.field for v in extension} <= {"spec.wasm.url"}
