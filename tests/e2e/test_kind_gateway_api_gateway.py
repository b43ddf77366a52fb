"""Gateway API Gateways through the real API server: served by the v1.4 CRDs, judged by us."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import dump

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
GROUP = "gateway.networking.k8s.io"
EGRESS_GATEWAY = "istio-egressgateway.istio-system.svc.cluster.local"


def gateway(
    name: str, namespace: str, *, version: str = "v1", labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None, **spec: Any,
) -> dict[str, Any]:  # fmt: skip
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    spec.setdefault("gatewayClassName", "istio")
    spec.setdefault("listeners", [{"name": "http", "port": 80, "protocol": "HTTP"}])
    return {"apiVersion": f"{GROUP}/{version}", "kind": "Gateway", "metadata": metadata,
            "spec": spec}  # fmt: skip


def test_the_crd_serves_the_checked_versions(cluster: Cluster) -> None:
    api_versions = cluster.kubectl("api-versions").stdout.split()

    assert f"{GROUP}/v1" in api_versions
    assert f"{GROUP}/v1beta1" in api_versions


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_a_gateway_bound_to_the_egress_gateway_is_denied(
    cluster: Cluster, namespace: str, version: str
) -> None:
    bad = gateway(
        "on-egress", namespace, version=version,
        addresses=[{"type": "Hostname", "value": EGRESS_GATEWAY}],
    )  # fmt: skip

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.addresses[0].value" in proc.stderr
    assert f'serves at "{EGRESS_GATEWAY}"' in proc.stderr
    assert "[gateway-api-service]" in proc.stderr
    assert not cluster.stored(f"gateways.{GROUP}", namespace, "on-egress")


@pytest.mark.usefixtures("webhook")
def test_egress_gateway_labels_on_the_deployed_pods_are_denied(
    cluster: Cluster, namespace: str
) -> None:
    bad = gateway("fake-egress", namespace, infrastructure={"labels": {"istio": "egressgateway"}})

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.infrastructure.labels[istio]" in proc.stderr
    assert "[gateway-api-infrastructure]" in proc.stderr
    assert not cluster.stored(f"gateways.{GROUP}", namespace, "fake-egress")


@pytest.mark.usefixtures("webhook")
def test_a_network_gateway_at_an_external_ip_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = gateway(
        "remote", namespace,
        labels={"topology.istio.io/network": "network2"},
        gatewayClassName="istio-remote",
        addresses=[{"type": "IPAddress", "value": "203.0.113.9"}],
        listeners=[{"name": "tls-passthrough", "port": 15443, "protocol": "TLS",
                    "tls": {"mode": "Passthrough"}}],
    )  # fmt: skip

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "metadata.labels[topology.istio.io/network]" in proc.stderr
    assert "[gateway-api-network]" in proc.stderr
    assert not cluster.stored(f"gateways.{GROUP}", namespace, "remote")


@pytest.mark.usefixtures("webhook")
def test_ordinary_gateways_are_admitted(cluster: Cluster, namespace: str) -> None:
    ingress = gateway(
        "gateway", namespace,
        listeners=[{"name": "default", "hostname": "*.example.com", "port": 80,
                    "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}],
    )  # fmt: skip
    egress_task = gateway(
        "cnn-egress-gateway", namespace, version="v1beta1",
        annotations={"networking.istio.io/service-type": "ClusterIP"},
        listeners=[{"name": "http", "hostname": "edition.cnn.com", "port": 80,
                    "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}}],
    )  # fmt: skip
    waypoint = gateway(
        "waypoint", namespace,
        labels={"istio.io/waypoint-for": "service"},
        gatewayClassName="istio-waypoint",
        listeners=[{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
    )  # fmt: skip

    cluster.kubectl("apply", "-f", "-", input=dump(ingress, egress_task, waypoint))

    for name in ("gateway", "cnn-egress-gateway", "waypoint"):
        assert cluster.stored(f"gateways.{GROUP}", namespace, name)
