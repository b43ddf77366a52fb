"""WasmPlugin through the real API server: modules from unlisted or gateway-required hosts
denied, in-cluster registries and files in the proxy admitted."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import dump
from tests.unit.fetch_objects import DOCS_WASM, wasm_plugin

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(
    "url",
    [DOCS_WASM, "https://api.github.com/m.wasm", "oci://ghcr.io@evil.example.org/m:1"],
    ids=["unlisted-registry", "gateway-required-host", "userinfo"],
)
def test_a_module_fetch_outside_the_policy_is_denied(
    cluster: Cluster, namespace: str, url: str
) -> None:
    bad = wasm_plugin(url, namespace=namespace)

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.url" in proc.stderr
    assert "[wasm-plugin-url]" in proc.stderr
    assert not cluster.stored("wasmplugins.extensions.istio.io", namespace, "wp")


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(
    "url",
    ["oci://registry.tools.svc.cluster.local:5000/filters/basic_auth:1", "file:///etc/m.wasm"],
    ids=["in-cluster-registry", "local-file"],
)
def test_in_cluster_and_local_modules_are_admitted(
    cluster: Cluster, namespace: str, url: str
) -> None:
    good = wasm_plugin(url, namespace=namespace, pluginConfig={"realm": "mesh"})

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    assert cluster.stored("wasmplugins.extensions.istio.io", namespace, "wp")
