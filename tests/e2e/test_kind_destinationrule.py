"""DestinationRule via the real API server: tunnels, SNI and PASSTHROUGH denied, docs admitted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import EVIL_HOST, NOT_ALLOWLISTED, dump

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
GATEWAY = "istio-egressgateway.istio-system.svc.cluster.local"
RESOURCE = "destinationrules.networking.istio.io"


def destination_rule(
    name: str, namespace: str, host: str, *, version: str = "v1", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"host": host, **spec},
    }


def gateway_mtls(name: str, namespace: str, sni: str, **spec: Any) -> dict[str, Any]:
    """The egress TLS origination task's rule for the egress gateway, presenting `sni`."""
    policy = {
        "portLevelSettings": [
            {"port": {"number": 443}, "tls": {"mode": "ISTIO_MUTUAL", "sni": sni}}
        ]
    }
    return destination_rule(
        name, namespace, GATEWAY, subsets=[{"name": "github", "trafficPolicy": policy}], **spec
    )


def stored(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    proc = cluster.kubectl("get", RESOURCE, name, "-n", namespace, "-o", "json", check=False)
    if proc.returncode != 0:
        assert "NotFound" in proc.stderr, proc.stderr
        return None
    found: dict[str, Any] = json.loads(proc.stdout)
    return found


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_documented_rules_are_admitted(cluster: Cluster, namespace: str, version: str) -> None:
    objs = [
        gateway_mtls("egressgateway-for-github", namespace, "api.github.com", version=version),
        destination_rule(
            "originate-tls",
            namespace,
            "api.github.com",
            version=version,
            trafficPolicy={
                "loadBalancer": {"simple": "ROUND_ROBIN"},
                "portLevelSettings": [{"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}],
            },
        ),
        destination_rule(
            "httpbin",
            namespace,
            "httpbin",
            version=version,
            trafficPolicy={
                "connectionPool": {"tcp": {"maxConnections": 1}},
                "outlierDetection": {"consecutive5xxErrors": 1, "interval": "1s"},
            },
            subsets=[{"name": "v1", "labels": {"version": "v1"}}],
        ),
    ]

    cluster.kubectl("apply", "-f", "-", input=dump(*objs))

    for obj in objs:
        assert stored(cluster, namespace, obj["metadata"]["name"]) is not None


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            gateway_mtls("fronting", "moved-to-the-test-namespace", EVIL_HOST),
            ["spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.sni", NOT_ALLOWLISTED],
            id="egress-gateway-sni",
        ),
        pytest.param(
            destination_rule(
                "tunnel",
                "moved-to-the-test-namespace",
                GATEWAY,
                trafficPolicy={"tunnel": {"targetHost": EVIL_HOST, "targetPort": 443}},
            ),
            ["spec.trafficPolicy.tunnel.targetHost", "HTTP CONNECT", NOT_ALLOWLISTED],
            id="tunnel",
        ),
        pytest.param(
            destination_rule(
                "passthrough",
                "moved-to-the-test-namespace",
                "api.github.com",
                trafficPolicy={"loadBalancer": {"simple": "PASSTHROUGH"}},
            ),
            ["loadBalancer PASSTHROUGH", "ORIGINAL_DST"],
            id="passthrough",
        ),
    ],
)
def test_doors_are_denied_with_our_message(
    cluster: Cluster, namespace: str, obj: dict[str, Any], expected: list[str]
) -> None:
    obj = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}

    proc = cluster.kubectl("apply", "-f", "-", input=dump(obj), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    for text in expected:
        assert text in proc.stderr
    assert stored(cluster, namespace, obj["metadata"]["name"]) is None


@pytest.mark.usefixtures("webhook")
def test_update_that_adds_a_fronting_sni_is_denied(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=dump(gateway_mtls("gw", namespace, "api.github.com")))

    proc = cluster.kubectl(
        "apply", "-f", "-", input=dump(gateway_mtls("gw", namespace, EVIL_HOST)), check=False
    )

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    kept = stored(cluster, namespace, "gw")
    assert kept is not None
    tls = kept["spec"]["subsets"][0]["trafficPolicy"]["portLevelSettings"][0]["tls"]
    assert tls["sni"] == "api.github.com"
