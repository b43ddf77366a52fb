"""The harness itself: the API server, the Istio CRDs, kubectl and helm are real and wired up."""

from __future__ import annotations

import json

import pytest

from tests.e2e.cluster import BUILD_SCRIPT, Cluster

pytestmark = pytest.mark.e2e


def pinned(name: str) -> str:
    for line in (BUILD_SCRIPT.parent / "versions.env").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip()
    raise AssertionError(f"{name} not pinned in versions.env")


def test_api_server_and_kubectl_are_the_pinned_release(cluster: Cluster) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json").stdout)

    assert versions["serverVersion"]["gitVersion"] == pinned("KUBERNETES_VERSION")
    assert versions["clientVersion"]["gitVersion"] == pinned("KUBERNETES_VERSION")


def test_istio_crds_serve_v1alpha3_v1beta1_and_v1(cluster: Cluster) -> None:
    api_versions = cluster.kubectl("api-versions").stdout.split()

    for version in ("v1alpha3", "v1beta1", "v1"):
        assert f"networking.istio.io/{version}" in api_versions


def test_admin_is_cluster_admin_through_rbac(cluster: Cluster) -> None:
    assert cluster.kubectl("auth", "can-i", "*", "*", "--all-namespaces").stdout.strip() == "yes"


def test_helm_talks_to_the_cluster(cluster: Cluster) -> None:
    proc = cluster.helm("list", "--all-namespaces", "-o", "json")

    assert json.loads(proc.stdout) == []
    assert cluster.helm("version", "--short").stdout.startswith(pinned("HELM_VERSION"))
