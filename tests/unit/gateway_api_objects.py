"""Builders for Gateway API Gateway and BackendTLSPolicy dicts (spec keys in camelCase)."""

from __future__ import annotations

from typing import Any

GROUP = "gateway.networking.k8s.io"

#: Istio's egress gateway task, Gateway API tab: the per-namespace egress gateway.
CNN_LISTENER = {
    "name": "http",
    "hostname": "edition.cnn.com",
    "port": 80,
    "protocol": "HTTP",
    "allowedRoutes": {"namespaces": {"from": "Same"}},
}

#: The waypoint `istioctl waypoint generate` writes (ambient waypoint docs).
HBONE_LISTENER = {"name": "mesh", "port": 15008, "protocol": "HBONE"}


def gateway(
    name: str = "gateway",
    namespace: str = "default",
    *,
    class_name: str = "istio",
    listeners: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    version: str = "v1",
    **spec: Any,
) -> dict[str, Any]:
    """A Gateway API Gateway (one HTTP listener on 80 unless `listeners` says otherwise)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    body = {
        "gatewayClassName": class_name,
        "listeners": listeners or [{"name": "http", "port": 80, "protocol": "HTTP"}],
        **spec,
    }
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "Gateway",
        "metadata": metadata,
        "spec": body,
    }


def hostname_address(value: str) -> dict[str, str]:
    """A `Hostname` address: Istio binds the Gateway to that existing Service."""
    return {"type": "Hostname", "value": value}


def ip_address(value: str) -> dict[str, str]:
    """An `IPAddress` address."""
    return {"type": "IPAddress", "value": value}


def service_target(name: str, section: str | None = None) -> dict[str, Any]:
    """A targetRef to a core Service of the policy's namespace."""
    ref: dict[str, Any] = {"group": "", "kind": "Service", "name": name}
    if section is not None:
        ref["sectionName"] = section
    return ref


def se_target(name: str) -> dict[str, Any]:
    """A targetRef to a ServiceEntry of the policy's namespace."""
    return {"group": "networking.istio.io", "kind": "ServiceEntry", "name": name}


def backend_tls_policy(
    hostname: str,
    *targets: dict[str, Any],
    name: str = "tls",
    namespace: str = "default",
    version: str = "v1",
    **validation: Any,
) -> dict[str, Any]:
    """A BackendTLSPolicy presenting `hostname` to `targets` (system CAs unless told)."""
    if "caCertificateRefs" not in validation:
        validation.setdefault("wellKnownCACertificates", "System")
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "BackendTLSPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "targetRefs": list(targets),
            "validation": {"hostname": hostname, **validation},
        },
    }
