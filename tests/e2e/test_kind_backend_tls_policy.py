"""BackendTLSPolicy through the real API server: served by the v1.4 CRDs, judged by the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import EVIL_HOST, dump

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
GROUP = "gateway.networking.k8s.io"
GITHUB = {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "github"}


def policy(
    name: str, namespace: str, hostname: str, *targets: dict[str, Any], version: str = "v1"
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "BackendTLSPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "targetRefs": list(targets),
            "validation": {"hostname": hostname, "wellKnownCACertificates": "System"},
        },
    }


def test_the_crd_serves_the_checked_versions(cluster: Cluster) -> None:
    api_versions = cluster.kubectl("api-versions").stdout.split()

    assert f"{GROUP}/v1" in api_versions
    assert f"{GROUP}/v1alpha3" in api_versions


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1", "v1alpha3"])
def test_fronting_through_an_external_host_is_denied(
    cluster: Cluster, namespace: str, version: str
) -> None:
    bad = policy("fronting", namespace, EVIL_HOST, GITHUB, version=version)

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.validation.hostname" in proc.stderr
    assert f'hostname "{EVIL_HOST}"' in proc.stderr
    assert "[backend-tls-sni]" in proc.stderr
    assert not cluster.stored(f"backendtlspolicies.{GROUP}", namespace, "fronting")


@pytest.mark.usefixtures("webhook")
def test_ordinary_policies_are_admitted(cluster: Cluster, namespace: str) -> None:
    own_host = policy("github", namespace, "api.github.com", GITHUB)
    in_cluster = policy(
        "echo", namespace, "auth.example.com", {"group": "", "kind": "Service", "name": "echo"}
    )

    cluster.kubectl("apply", "-f", "-", input=dump(own_host, in_cluster))

    assert cluster.stored(f"backendtlspolicies.{GROUP}", namespace, "github")
    assert cluster.stored(f"backendtlspolicies.{GROUP}", namespace, "echo")
