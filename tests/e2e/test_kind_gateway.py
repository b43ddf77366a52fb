"""Istio Gateways through the real API server: an egress server for any host is denied."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import Obj, dump

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'


def istio_gateway(
    name: str, namespace: str, selector: dict[str, str], *hosts: str, version: str = "v1"
) -> Obj:
    """A Gateway with one TLS-passthrough server on 443 for `hosts`."""
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": selector,
            "servers": [
                {
                    "port": {"number": 443, "name": "tls", "protocol": "TLS"},
                    "hosts": list(hosts),
                    "tls": {"mode": "PASSTHROUGH"},
                }
            ],
        },
    }


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_an_egress_server_for_every_host_is_denied(
    cluster: Cluster, namespace: str, version: str
) -> None:
    bad = istio_gateway("any-host", namespace, {"istio": "egressgateway"}, "*/*", version=version)

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.servers[0].hosts[0]" in proc.stderr
    assert "programs the egress gateway pods" in proc.stderr
    assert "[gateway-servers]" in proc.stderr
    assert not cluster.stored("gateways.networking.istio.io", namespace, "any-host")


@pytest.mark.usefixtures("webhook")
def test_ordinary_egress_and_ingress_gateways_are_admitted(
    cluster: Cluster, namespace: str
) -> None:
    egress = istio_gateway("egress", namespace, {"istio": "egressgateway"}, "api.github.com")
    ingress = istio_gateway("ingress", namespace, {"istio": "ingressgateway"}, "*")

    cluster.kubectl("apply", "-f", "-", input=dump(egress, ingress))

    assert cluster.stored("gateways.networking.istio.io", namespace, "egress")
    assert cluster.stored("gateways.networking.istio.io", namespace, "ingress")
