"""Builders for Service, Endpoints and EndpointSlice dicts, and the policy their tables use."""

from __future__ import annotations

from typing import Any

from tests.unit.istio_objects import RULES_POLICY_YAML
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import parse_policy

#: The rules policy, plus the cluster's networks and two entries reached directly by IP.
CORE_POLICY_YAML = (
    RULES_POLICY_YAML
    + """
internalNetworks:
  - 10.244.0.0/16                     # pods
  - 10.96.0.0/12                      # Services
  - 172.18.0.0/16                     # nodes
  - fd00:10:244::/56                  # pods, IPv6
"""
)
CORE_POLICY_YAML = CORE_POLICY_YAML.replace(
    "allowlist:\n",
    """allowlist:
  - host: legacy.example.org          # direct (not gateway-required), static IPs, every namespace
    ports:
      - number: 8443
    cidrs: [203.0.113.0/24]
  - host: vault.example.org           # direct, static IPs, payments only
    namespaces: [payments]
    ports:
      - number: 8200
    cidrs: [198.51.100.0/24]
""",
    1,
)

CORE_POLICY: CompiledPolicy = parse_policy(CORE_POLICY_YAML, "<core-policy>")

EGRESS_GATEWAY = "istio-egressgateway.istio-system.svc.cluster.local"


def _meta(
    namespace: str, name: str, labels: dict[str, str] | None, annotations: dict[str, str] | None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return meta


def service(
    namespace: str = "default",
    name: str = "svc",
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Service; spec keys in the wire's camelCase."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(namespace, name, labels, annotations),
        "spec": spec,
    }


def external_name(
    target: str, *ports: int, namespace: str = "default", **kwargs: Any
) -> dict[str, Any]:
    """An ExternalName Service aliasing `target`, with TCP `ports`."""
    spec: dict[str, Any] = {"type": "ExternalName", "externalName": target}
    if ports:
        spec["ports"] = [{"name": f"tcp-{p}", "port": p, "protocol": "TCP"} for p in ports]
    return service(namespace, "alias", **kwargs, **spec)


def endpoints(
    *ips: str,
    port: int = 443,
    namespace: str = "default",
    not_ready: tuple[str, ...] = (),
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Endpoints object with one subset of `ips` (and `not_ready` ones) on `port`."""
    subset: dict[str, Any] = {"ports": [{"name": "tls", "port": port, "protocol": "TCP"}]}
    if ips:
        subset["addresses"] = [{"ip": ip} for ip in ips]
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": _meta(namespace, "svc", labels, None),
        "subsets": [subset],
    }


def endpoint_slice(
    *addresses: str,
    port: int | None = 443,
    address_type: str = "IPv4",
    namespace: str = "default",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An EndpointSlice of `kubernetes.io/service-name: svc` with one endpoint per address."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": _meta(
            namespace, "svc-abcde", {"kubernetes.io/service-name": "svc", **(labels or {})}, None
        ),
        "addressType": address_type,
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": [{"name": "tls", "port": port, "protocol": "TCP"}],
    }


#: Labels the endpoint controllers put on their objects; anyone can write them.
CONTROLLER_LABELS = {
    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    "kubernetes.io/service-name": "svc",
}
