"""Istio name resolution: short names and Gateway references, as Istio resolves them."""

from __future__ import annotations

import pytest

from webhook.policy.names import is_in_cluster, resolve_gateway_ref, resolve_service_host


@pytest.mark.parametrize(
    ("host", "resolved"),
    [
        ("reviews", "reviews.shop.svc.cluster.local"),
        ("Reviews", "reviews.shop.svc.cluster.local"),
        ("reviews.other", "reviews.other"),  # Istio does not expand two-label names
        ("reviews.other.svc.cluster.local", "reviews.other.svc.cluster.local"),
        ("api.github.com", "api.github.com"),
        ("*", "*"),
        # ResolveShortnameToFQDN (pilot/pkg/model) leaves IP addresses alone: an IPv6
        # literal has no dot but is not a short name, and must not pass as in-cluster.
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_resolve_service_host(host: str, resolved: str) -> None:
    assert resolve_service_host(host, "shop", "cluster.local") == resolved


@pytest.mark.parametrize(
    ("ref", "resolved"),
    [
        ("mesh", "mesh"),
        ("istio-system/istio-egressgateway", "istio-system/istio-egressgateway"),
        ("./egress", "shop/egress"),
        ("egress", "shop/egress"),
        ("istio-egressgateway.istio-system.svc.cluster.local", "istio-system/istio-egressgateway"),
        ("istio-egressgateway.istio-system", "istio-system/istio-egressgateway"),
    ],
)
def test_resolve_gateway_ref(ref: str, resolved: str) -> None:
    assert resolve_gateway_ref(ref, "shop") == resolved


@pytest.mark.parametrize(
    ("name", "inside"),
    [
        ("a.b.svc.cluster.local", True),
        ("*.svc.cluster.local", True),
        ("cluster.local", True),
        ("evilcluster.local", False),
        ("api.github.com", False),
    ],
)
def test_is_in_cluster(name: str, inside: bool) -> None:
    assert is_in_cluster(name, "cluster.local") is inside
