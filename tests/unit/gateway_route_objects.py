"""Builders for Gateway API route dicts, and a policy that approves a Gateway API egress gateway."""

from __future__ import annotations

from typing import Any

from tests.unit.istio_objects import RULES_POLICY_YAML
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import parse_policy

GATEWAY_SVC = "istio-egressgateway"
GATEWAY_NS = "istio-system"

#: The rules policy, plus the per-namespace egress gateway of Istio's egress gateway task
#: (Gateway API tab): a Gateway "cnn-egress-gateway" in "default", and edition.cnn.com.
CNN_POLICY_YAML = RULES_POLICY_YAML.replace(
    "gateways: [istio-system/istio-egressgateway]",
    "gateways: [istio-system/istio-egressgateway, default/cnn-egress-gateway]",
).replace(
    "allowlist:\n",
    "allowlist:\n  - host: edition.cnn.com\n    ports:\n      - number: 80\n"
    "        protocols: [HTTP]\n      - number: 443\n        protocols: [TLS]\n",
)
CNN_POLICY: CompiledPolicy = parse_policy(CNN_POLICY_YAML, "<cnn-policy>")

#: Nothing needs the egress gateway (egressGateway.requireFor: []).
NO_GATEWAY_POLICY: CompiledPolicy = parse_policy(
    RULES_POLICY_YAML.replace(
        """requireFor: [api.github.com, "*.googleapis.com", httpbin.org, db.example.com,
               "*.partner.example.com"]""",
        "requireFor: []",
    ),
    "<no-gateway-policy>",
)


def route(
    kind: str = "HTTPRoute",
    namespace: str = "default",
    name: str = "route",
    *,
    api_version: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Gateway API route; spec keys in the wire's camelCase."""
    versions = {
        "HTTPRoute": "v1",
        "GRPCRoute": "v1",
        "TLSRoute": "v1alpha2",
        "TCPRoute": "v1alpha2",
    }
    return {
        "apiVersion": api_version or f"gateway.networking.k8s.io/{versions[kind]}",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def service_parent(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    """A GAMMA parentRef to a core Service (group "" as the Istio docs write it)."""
    ref: dict[str, Any] = {"group": "", "kind": "Service", "name": name, **extra}
    if namespace is not None:
        ref["namespace"] = namespace
    return ref


def se_parent(name: str, namespace: str | None = None) -> dict[str, Any]:
    """A parentRef to a ServiceEntry (Istio's GAMMA extension)."""
    ref: dict[str, Any] = {"group": "networking.istio.io", "kind": "ServiceEntry", "name": name}
    if namespace is not None:
        ref["namespace"] = namespace
    return ref


def gateway_parent(name: str, namespace: str | None = None) -> dict[str, Any]:
    """A parentRef to a Gateway API Gateway (the CRD's default group and kind, spelled out)."""
    ref: dict[str, Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}
    if namespace is not None:
        ref["namespace"] = namespace
    return ref


def svc(name: str, port: int, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    """A backendRef to a core Service."""
    ref: dict[str, Any] = {"name": name, "port": port, **extra}
    if namespace is not None:
        ref["namespace"] = namespace
    return ref


def hostname(host: str, port: int, **extra: Any) -> dict[str, Any]:
    """A backendRef to Istio's Hostname kind: any host the registry knows, e.g. an external one."""
    return {"group": "networking.istio.io", "kind": "Hostname", "name": host, "port": port, **extra}


def to_gateway(port: int = 80) -> dict[str, Any]:
    """The central egress gateway Service as a backendRef."""
    return svc(GATEWAY_SVC, port, GATEWAY_NS)


def mirror(backend: dict[str, Any]) -> dict[str, Any]:
    """A RequestMirror filter."""
    return {"type": "RequestMirror", "requestMirror": {"backendRef": backend}}


def set_host(value: str) -> dict[str, Any]:
    """A RequestHeaderModifier filter setting the Host header."""
    return {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "Host", "value": value}]},
    }


def url_rewrite_host(value: str) -> dict[str, Any]:
    """A URLRewrite filter rewriting the hostname (Istio's rewrite.authority)."""
    return {"type": "URLRewrite", "urlRewrite": {"hostname": value}}


def url_rewrite_path(kind: str, value: str) -> dict[str, Any]:
    """A URLRewrite filter rewriting the path (`ReplaceFullPath` or `ReplacePrefixMatch`)."""
    key = "replaceFullPath" if kind == "ReplaceFullPath" else "replacePrefixMatch"
    return {"type": "URLRewrite", "urlRewrite": {"path": {"type": kind, key: value}}}
