"""Sidecar through the real API server: ALLOW_ANY and port listeners denied, scoping admitted."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import dump
from tests.unit.sidecar_envoy_filter_objects import sidecar

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_allow_any_is_denied_in_every_served_version(
    cluster: Cluster, namespace: str, version: str
) -> None:
    bad = sidecar(
        namespace,
        "open",
        api_version=f"networking.istio.io/{version}",
        outboundTrafficPolicy={"mode": "ALLOW_ANY"},
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.outboundTrafficPolicy.mode" in proc.stderr
    assert "[sidecar-outbound-policy]" in proc.stderr
    assert not cluster.stored("sidecars.networking.istio.io", namespace, "open")


@pytest.mark.usefixtures("webhook")
def test_an_egress_listener_port_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = sidecar(
        namespace,
        "tcp-443",
        egress=[
            {
                "port": {"number": 443, "protocol": "TCP", "name": "tcp"},
                "hosts": ["istio-system/api.github.com"],
            }
        ],
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.egress[0].port" in proc.stderr
    assert not cluster.stored("sidecars.networking.istio.io", namespace, "tcp-443")


@pytest.mark.usefixtures("webhook")
def test_a_scoping_sidecar_with_registry_only_is_admitted(cluster: Cluster, namespace: str) -> None:
    good = sidecar(
        namespace,
        "default",
        egress=[{"hosts": ["./*", "istio-system/*"]}],
        outboundTrafficPolicy={"mode": "REGISTRY_ONLY"},
    )

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    assert cluster.stored("sidecars.networking.istio.io", namespace, "default")
