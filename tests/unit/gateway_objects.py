"""Builders for Istio Gateway and WorkloadEntry dicts, and the policy WorkloadEntry tables use."""

from __future__ import annotations

from typing import Any

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import RULES_POLICY_YAML
from webhook.policy.index import CompiledPolicy

EGRESS_SELECTOR = {"istio": "egressgateway"}

#: The rules policy plus the mesh's internal networks (pods, Services, a VM network) and one
#: external host sidecars may reach directly (not in requireFor), backed by a network.
ENDPOINTS_POLICY: CompiledPolicy = policy_from(
    RULES_POLICY_YAML.replace(
        "allowlist:\n",
        "allowlist:\n"
        "  - host: ftp.vendor.example.net\n"
        "    ports: [{number: 21, protocols: [TCP]}]\n"
        "    cidrs: [203.0.113.0/28]\n",
        1,
    )
    + "internalNetworks: [10.96.0.0/12, 10.128.0.0/16, fd00:10::/64]\n"
)


def server(
    *hosts: str,
    number: int = 443,
    protocol: str = "TLS",
    name: str | None = None,
    tls: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Gateway server; TLS servers default to PASSTHROUGH, as the egress tasks use."""
    port = {"number": number, "protocol": protocol, "name": name or f"{protocol.lower()}-{number}"}
    out: dict[str, Any] = {"port": port, "hosts": list(hosts)}
    if tls is None and protocol == "TLS":
        tls = {"mode": "PASSTHROUGH"}
    if tls is not None:
        out["tls"] = tls
    return out


def gateway(
    *servers: dict[str, Any],
    namespace: str = "default",
    name: str = "gw",
    selector: dict[str, str] | None = EGRESS_SELECTOR,
    api_version: str = "networking.istio.io/v1",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Istio Gateway; `selector=None` leaves it out (every gateway pod)."""
    spec: dict[str, Any] = {"servers": list(servers)}
    if selector is not None:
        spec["selector"] = selector
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": "Gateway", "metadata": metadata, "spec": spec}


def workload_entry(
    namespace: str = "default",
    name: str = "we",
    *,
    api_version: str = "networking.istio.io/v1",
    metadata_labels: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A WorkloadEntry; spec keys (`labels` included: what selectors match) in camelCase."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if metadata_labels:
        metadata["labels"] = metadata_labels
    return {"apiVersion": api_version, "kind": "WorkloadEntry", "metadata": metadata, "spec": spec}
