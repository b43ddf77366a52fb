"""TrafficExtension through the real API server (the CRD of istio/api v1.30): Lua refused
wherever it attaches, Wasm modules judged by where istio-agent fetches them."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import dump
from tests.unit.fetch_objects import DOCS_WASM, traffic_extension
from tests.unit.test_traffic_extension_lua import HTTP_CALL

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'


@pytest.mark.usefixtures("webhook")
def test_lua_code_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = traffic_extension(namespace, lua=HTTP_CALL)

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.lua.inlineCode" in proc.stderr
    assert "[traffic-extension-lua]" in proc.stderr
    assert not cluster.stored(
        "trafficextensions.extensions.istio.io", namespace, bad["metadata"]["name"]
    )


@pytest.mark.usefixtures("webhook")
def test_a_module_from_an_unlisted_registry_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = traffic_extension(namespace, wasm={"url": DOCS_WASM})

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.wasm.url" in proc.stderr
    assert "[wasm-plugin-url]" in proc.stderr
    assert not cluster.stored(
        "trafficextensions.extensions.istio.io", namespace, bad["metadata"]["name"]
    )


@pytest.mark.usefixtures("webhook")
def test_a_module_in_the_proxy_is_admitted(cluster: Cluster, namespace: str) -> None:
    good = traffic_extension(namespace, wasm={"url": "file:///etc/m.wasm"})

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    assert cluster.stored(
        "trafficextensions.extensions.istio.io", namespace, good["metadata"]["name"]
    )
