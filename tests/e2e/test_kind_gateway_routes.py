"""Gateway API routes through the real API server: served by the CRDs, judged by the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import EVIL_HOST, dump

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
GROUP = "gateway.networking.k8s.io"

#: Every kind and version the Gateway API v1.6.3 CRDs serve that the webhook checks.
SERVED = [
    ("HTTPRoute", "v1", "httproutes"),
    ("HTTPRoute", "v1beta1", "httproutes"),
    ("GRPCRoute", "v1", "grpcroutes"),
    ("TLSRoute", "v1alpha2", "tlsroutes"),
    ("TLSRoute", "v1alpha3", "tlsroutes"),
    ("TLSRoute", "v1", "tlsroutes"),
    ("TCPRoute", "v1alpha2", "tcproutes"),
    ("TCPRoute", "v1", "tcproutes"),
]


def route(kind: str, version: str, name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def hostname(host: str, port: int) -> dict[str, Any]:
    return {"group": "networking.istio.io", "kind": "Hostname", "name": host, "port": port}


def se_parent(name: str) -> dict[str, Any]:
    return {"group": "networking.istio.io", "kind": "ServiceEntry", "name": name}


def test_gateway_api_crds_serve_the_checked_versions(cluster: Cluster) -> None:
    api_versions = cluster.kubectl("api-versions").stdout.split()

    for _, version, _ in SERVED:
        assert f"{GROUP}/{version}" in api_versions


@pytest.mark.usefixtures("webhook")
def test_mesh_route_straight_to_the_external_host_is_denied(
    cluster: Cluster, namespace: str
) -> None:
    bad = route(
        "HTTPRoute",
        "v1",
        "github-direct",
        namespace,
        parentRefs=[se_parent("github")],
        rules=[{"backendRefs": [hostname("api.github.com", 443)]}],
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.rules[0].backendRefs[0].name" in proc.stderr
    assert 'to "api.github.com", around the egress gateway' in proc.stderr
    assert "[route-mesh-routing]" in proc.stderr
    assert not cluster.stored(f"{'httproutes'}.{GROUP}", namespace, "github-direct")


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(("kind", "version", "resource"), SERVED)
def test_every_kind_and_version_is_judged(
    cluster: Cluster, namespace: str, kind: str, version: str, resource: str
) -> None:
    rule = {"backendRefs": [hostname(EVIL_HOST, 443)]}
    bad = route(kind, version, "exfil", namespace, parentRefs=[{"name": "gw"}], rules=[rule])
    if kind == "TLSRoute":
        bad["spec"]["hostnames"] = ["shop.example.com"]  # required at v1alpha3

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert f'backend host "{EVIL_HOST}" is not on the egress allowlist' in proc.stderr
    assert not cluster.stored(f"{resource}.{GROUP}", namespace, "exfil")


@pytest.mark.usefixtures("webhook")
def test_ordinary_routes_are_admitted(cluster: Cluster, namespace: str) -> None:
    shifting = route(
        "HTTPRoute",
        "v1",
        "reviews",
        namespace,
        parentRefs=[{"group": "", "kind": "Service", "name": "reviews", "port": 9080}],
        rules=[
            {
                "backendRefs": [
                    {"name": "reviews-v1", "port": 9080, "weight": 90},
                    {"name": "reviews-v2", "port": 9080, "weight": 10},
                ]
            }
        ],
    )
    to_gateway = route(
        "HTTPRoute",
        "v1beta1",
        "github-via-egress-gateway",
        namespace,
        parentRefs=[se_parent("github")],
        rules=[
            {
                "backendRefs": [
                    {"name": "istio-egressgateway", "namespace": "istio-system", "port": 443}
                ]
            }
        ],
    )

    cluster.kubectl("apply", "-f", "-", input=dump(shifting, to_gateway))

    assert cluster.stored(f"{'httproutes'}.{GROUP}", namespace, "reviews")
    assert cluster.stored(f"{'httproutes'}.{GROUP}", namespace, "github-via-egress-gateway")
