"""Builders for RequestAuthentication, WasmPlugin and TrafficExtension dicts, and a policy that
allowlists the hosts Istio's docs fetch from (JWKS on GitHub, Wasm modules on ghcr.io and,
in traffic_extension.proto's WasmConfig example, gcr.io) for direct fetches."""

from __future__ import annotations

from typing import Any

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import _object

#: The JWKS and module of Istio's RequestAuthentication and WasmPlugin docs.
DOCS_JWKS = "https://raw.githubusercontent.com/istio/istio/release-1.28/security/tools/jwt/samples/jwks.json"
DOCS_WASM = "oci://ghcr.io/istio-ecosystem/wasm-extensions/basic_auth:1.12.0"
#: The module of traffic_extension.proto's WasmConfig example (istio/api HEAD).
PROTO_WASM = "oci://gcr.io/myproject/filter:v1.0.0"

#: The docs' hosts allowlisted outside requireFor (fetched directly), beside a
#: gateway-required host and an internal network.
FETCH_POLICY = policy_from(
    """
allowlist:
  - host: raw.githubusercontent.com
    ports: [{number: 443, protocols: [HTTPS]}]
  - host: ghcr.io
    ports: [{number: 443}]
  - host: gcr.io
    ports: [{number: 443, protocols: [HTTPS, TLS]}]
  - host: login.example.com
    ports: [{number: 443, protocols: [TLS]}, {number: 80, protocols: [HTTP]}]
  - host: api.github.com
    ports: [{number: 443}]
  - host: registry.partner.example
    namespaces: [payments]
    ports: [{number: 443}]
egressGateway:
  requireFor: [api.github.com]
exemptNamespaces: [istio-system]
internalNetworks: [10.0.0.0/8]
"""
)


def request_authentication(
    *rules: dict[str, Any], namespace: str = "default", api_version: str = "security.istio.io/v1"
) -> dict[str, Any]:
    """A RequestAuthentication with `rules` as its jwtRules."""
    spec = {"selector": {"matchLabels": {"app": "httpbin"}}, "jwtRules": list(rules)}
    return _object("RequestAuthentication", api_version, namespace, "jwt", None, None, spec)


def wasm_plugin(url: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A WasmPlugin loading the module at `url`."""
    body = {"selector": {"matchLabels": {"istio": "ingressgateway"}}, "url": url, **spec}
    return _object("WasmPlugin", "extensions.istio.io/v1alpha1", namespace, "wp", None, None, body)


def traffic_extension(
    namespace: str = "default",
    *,
    wasm: dict[str, Any] | None = None,
    lua: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A TrafficExtension at the ingress gateway (unless `spec` says where) with a filter.

    `targetRefs` replaces the selector (the CRD allows one of them); ``selector=None``
    leaves both out (every proxy of the namespace).
    """
    body: dict[str, Any] = {"selector": {"matchLabels": {"istio": "ingressgateway"}}, **spec}
    if "targetRefs" in spec or body["selector"] is None:
        del body["selector"]
    if wasm is not None:
        body["wasm"] = wasm
    if lua is not None:
        body["lua"] = {"inlineCode": lua}
    return _object(
        "TrafficExtension", "extensions.istio.io/v1alpha1", namespace, "te", None, None, body
    )
