"""endpoint-addresses: Endpoints and EndpointSlices point a Service inside, or where allowed.

Rows are objects a tenant writes by hand; what the endpoint controllers write never
reaches the webhook (matchConditions), but the same pod IPs must pass here too, since
the offline checker judges them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.core_objects import (
    CONTROLLER_LABELS,
    CORE_POLICY,
    endpoint_slice,
    endpoints,
)
from tests.unit.istio_objects import RULES_POLICY, findings
from webhook.policy.rules import endpoint_addresses, routing_labels

RULES = (endpoint_addresses.RULE, routing_labels.RULE)


def _found(obj: dict[str, Any]) -> dict[str, list[str]]:
    return {
        rule: [f"{v.field}: {v.message}" for v in found]
        for rule in RULES
        if (found := findings(rule, obj, CORE_POLICY))
    }


def _two_subsets(good: str, bad: str) -> dict[str, Any]:
    obj = endpoints(good)
    obj["subsets"].append({"addresses": [{"ip": bad}], "ports": [{"port": 443}]})
    return obj


ENDPOINTS_BYPASSES = [
    pytest.param(endpoints("8.8.8.8", port=53), "outside the internal networks", id="public-dns"),
    pytest.param(
        endpoints("91.198.174.192", "198.35.26.96"), "91.198.174.192", id="istio-docs-wikipedia"
    ),
    pytest.param(endpoints(not_ready=("8.8.8.8",)), "notReadyAddresses", id="not-ready-address"),
    pytest.param(_two_subsets("10.244.1.5", "1.1.1.1"), "subsets[1]", id="second-subset"),
    pytest.param(endpoints("10.244.1.5", "1.1.1.1"), "addresses[1]", id="hidden-among-pods"),
    pytest.param(
        endpoints("192.168.1.10", port=5432, namespace="payments"),
        "egress gateway",
        id="gateway-required-cidr",
    ),
    pytest.param(
        endpoints("192.168.1.10", port=5432),
        "outside every allowlist entry",
        id="other-namespaces-cidr",
    ),
    pytest.param(
        endpoints("10.20.0.5", port=9000), "egress gateway", id="gateway-required-wildcard-cidr"
    ),
    pytest.param(endpoints("203.0.113.5", port=22), "port 22", id="direct-cidr-wrong-port"),
    pytest.param(
        endpoints("198.51.100.7", port=8200, namespace="payments"),
        "exportTo",
        id="restricted-cidr-scope-unseen",
    ),
    pytest.param(endpoints("::ffff:8.8.8.8"), "outside", id="ipv4-mapped-ipv6"),
    pytest.param(endpoints("2001:4860:4860::8888"), "outside", id="ipv6-public"),
    pytest.param(endpoints("10.243.255.1"), "outside", id="next-to-pod-network"),
    pytest.param(
        endpoints("8.8.8.8", labels=CONTROLLER_LABELS), "outside", id="forged-controller-labels"
    ),
]

ENDPOINTS_ORDINARY = [
    pytest.param(endpoints("10.244.1.5", "10.244.2.7"), id="pod-ips"),
    pytest.param(endpoints("10.244.1.5", labels=CONTROLLER_LABELS), id="controller-written"),
    pytest.param(endpoints(not_ready=("10.244.3.9",)), id="not-ready-pod"),
    pytest.param(endpoints("fd00:10:244::5"), id="ipv6-pod"),
    pytest.param(endpoints("172.18.0.4", port=10250), id="node-address"),
    pytest.param(endpoints("203.0.113.5", port=8443), id="direct-allowlisted-cidr"),
    pytest.param(endpoints(), id="no-addresses-yet"),
]

SLICE_BYPASSES = [
    pytest.param(endpoint_slice("8.8.8.8"), "outside the internal networks", id="public-ip"),
    pytest.param(
        endpoint_slice("2001:4860:4860::8888", address_type="IPv6"), "outside", id="ipv6-public"
    ),
    pytest.param(endpoint_slice("10.244.0.9", "1.1.1.1"), "endpoints[1]", id="hidden-among-pods"),
    pytest.param(
        endpoint_slice("8.8.8.8", labels=CONTROLLER_LABELS),
        "outside",
        id="forged-controller-labels",
    ),
    pytest.param(
        endpoint_slice(
            "8.8.8.8",
            labels={
                "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"
            },
        ),
        "outside",
        id="forged-mirroring-label",
    ),
    pytest.param(
        endpoint_slice("192.168.1.10", port=5432, namespace="payments"),
        "egress gateway",
        id="gateway-required-cidr",
    ),
    pytest.param(
        endpoint_slice("198.51.100.7", port=8200, namespace="payments"),
        "exportTo",
        id="restricted-cidr-scope-unseen",
    ),
    pytest.param(
        endpoint_slice("203.0.113.5", port=None), "every port", id="direct-cidr-every-port"
    ),
    pytest.param(
        endpoint_slice("evil.example.org", address_type="FQDN"),
        "not on the egress allowlist",
        id="fqdn-not-allowlisted",
    ),
    pytest.param(
        endpoint_slice("api.github.com", address_type="FQDN"),
        "egress gateway",
        id="fqdn-gateway-required",
    ),
    pytest.param(
        endpoint_slice("db.example.com", port=5432, address_type="FQDN"),
        "only for namespace payments",
        id="fqdn-other-namespaces",
    ),
    pytest.param(
        endpoint_slice("static.cdn.example.net", port=22, address_type="FQDN"),
        "port 22",
        id="fqdn-wrong-port",
    ),
    pytest.param(
        endpoint_slice("svc.cluster.local.evil.org", address_type="FQDN"),
        "not on the egress allowlist",
        id="fqdn-cluster-domain-prefix",
    ),
    pytest.param(
        endpoint_slice("evil", address_type="FQDN"), "single-label", id="fqdn-single-label"
    ),
]

SLICE_ORDINARY = [
    pytest.param(
        endpoint_slice("10.244.0.9", "10.244.1.3", labels=CONTROLLER_LABELS),
        id="controller-pod-ips",
    ),
    pytest.param(endpoint_slice("fd00:10:244::9", address_type="IPv6"), id="ipv6-pod"),
    pytest.param(
        endpoint_slice("10.244.0.9", labels={"multicluster.kubernetes.io/service-name": "svc"}),
        id="mcs-slice",
    ),
    pytest.param(endpoint_slice("203.0.113.5", port=8443), id="direct-allowlisted-cidr"),
    pytest.param(
        endpoint_slice("db.shared.svc.cluster.local", address_type="FQDN"), id="fqdn-in-cluster"
    ),
    pytest.param(
        endpoint_slice("static.cdn.example.net", address_type="FQDN"), id="fqdn-direct-allowlisted"
    ),
    pytest.param({**endpoint_slice(), "endpoints": None, "ports": None}, id="empty-with-nulls"),
]


@pytest.mark.parametrize(("obj", "fragment"), ENDPOINTS_BYPASSES + SLICE_BYPASSES)
def test_bypasses_are_refused(obj: dict[str, Any], fragment: str) -> None:
    found = _found(obj)
    assert endpoint_addresses.RULE in found, found
    assert any(fragment in m for m in found[endpoint_addresses.RULE]), found


@pytest.mark.parametrize("obj", ENDPOINTS_ORDINARY + SLICE_ORDINARY)
def test_ordinary_endpoints_are_admitted(obj: dict[str, Any]) -> None:
    assert _found(obj) == {}


def test_without_internal_networks_a_pod_ip_needs_an_allowlist_entry() -> None:
    """internalNetworks unset: even pod IPs are outside (the policy model says so)."""
    [violation] = findings(endpoint_addresses.RULE, endpoints("10.244.1.5"), RULES_POLICY)
    assert "none set" in violation.message


def test_message_names_the_object_the_field_and_the_fix() -> None:
    [violation] = findings(endpoint_addresses.RULE, endpoint_slice("8.8.8.8"), CORE_POLICY)
    assert violation.field == "endpoints[0].addresses[0]"
    assert violation.message.startswith("EndpointSlice default/svc-abcde points its Service")
    assert "selector" in violation.message
