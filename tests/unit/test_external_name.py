"""Service: external-name, service-addresses and the Service's export scope, as one table.

Every row is a Service a tenant could write; `rule` is the one expected to refuse it
(None: every Service rule admits it).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.core_objects import CORE_POLICY, EGRESS_GATEWAY, external_name, service
from tests.unit.istio_objects import findings
from webhook.policy.rules import export_scope, routing_labels, service_addresses
from webhook.policy.rules import external_name as external_name_rule

RULES = (external_name_rule.RULE, service_addresses.RULE, export_scope.RULE, routing_labels.RULE)
SELECTOR = {"app": "web"}
HTTP = [{"name": "http", "port": 80, "targetPort": 8080}]
EXPORT_TO = "networking.istio.io/exportTo"


def _found(obj: dict[str, Any]) -> dict[str, list[str]]:
    return {
        rule: [f"{v.field}: {v.message}" for v in found]
        for rule in RULES
        if (found := findings(rule, obj, CORE_POLICY))
    }


BYPASSES = [
    pytest.param(
        external_name("evil.example.org", 443),
        "external-name",
        "not on the egress allowlist",
        id="not-allowlisted",
    ),
    # Istio looks an alias's target up by its exact name: an upper-case spelling routes
    # nothing through the target's VirtualServices, so only the canonical name is an alias.
    pytest.param(
        external_name("API.GitHub.com", 443), "external-name", "egress gateway", id="case"
    ),
    # A client calling the alias is routed as the target, but a route naming the alias as
    # its destination (an HTTPRoute or TCPRoute backendRef Service, a VirtualService
    # destination) is sent to the target's own cluster: GetDestinationCluster
    # (pilot/pkg/networking/core/route/route.go) swaps an alias for
    # outbound|port||<externalName>, past the target's egress-gateway VirtualService.
    # These two rows were admitted before (alias-gateway-required-exact / -wildcard).
    pytest.param(
        external_name("api.github.com", 443),
        "external-name",
        "past every VirtualService",
        id="alias-gateway-required-exact",
    ),
    pytest.param(
        external_name("storage.googleapis.com", 443),
        "external-name",
        "past every VirtualService",
        id="alias-gateway-required-wildcard",
    ),
    pytest.param(
        external_name("api.github.com", 8443),
        "external-name",
        "port 8443",
        id="gateway-required-on-another-port",
    ),
    pytest.param(
        external_name("db.example.com", 5432),
        "external-name",
        "only for namespace payments",
        id="other-namespaces-entry",
    ),
    pytest.param(
        external_name("8.8.8.8", 53),
        "external-name",
        "outside the internal networks",
        id="ip-literal",
    ),
    pytest.param(external_name("evil", 443), "external-name", "single-label", id="single-label"),
    pytest.param(
        external_name("static.cdn.example.net.", 443),
        "external-name",
        "ends with a dot",
        id="trailing-dot",
    ),
    pytest.param(
        external_name("cdn.example.net", 443),
        "external-name",
        "not on the egress allowlist",
        id="wildcard-apex",
    ),
    pytest.param(
        external_name("svc.cluster.local.evil.org", 443),
        "external-name",
        "not on the egress allowlist",
        id="cluster-domain-as-prefix",
    ),
    pytest.param(
        external_name("static.cdn.example.net", 22),
        "external-name",
        "port 22",
        id="port-not-allowed",
    ),
    pytest.param(
        external_name("static.cdn.example.net", 443, 22),
        "external-name",
        "port 22",
        id="one-port-not-allowed",
    ),
    pytest.param(
        external_name("vault.example.org", 8200, namespace="payments"),
        "export-scope",
        "beyond the namespaces",
        id="restricted-exported-everywhere",
    ),
    pytest.param(
        external_name(
            "vault.example.org", 8200, namespace="payments", annotations={EXPORT_TO: "., shop"}
        ),
        "export-scope",
        '"shop"',
        id="restricted-exported-to-another",
    ),
    pytest.param(
        service(selector=SELECTOR, ports=HTTP, externalIPs=["8.8.8.8"]),
        "service-addresses",
        "kube-proxy would capture",
        id="external-ip",
    ),
    pytest.param(
        service(selector=SELECTOR, ports=HTTP, externalIPs=["10.244.0.1", "140.82.112.5"]),
        "service-addresses",
        "140.82.112.5",
        id="second-external-ip",
    ),
    pytest.param(
        service(
            type="LoadBalancer",
            selector=SELECTOR,
            ports=[{"port": 15443}],
            labels={"topology.istio.io/network": "net2"},
        ),
        "service-addresses",
        "net2",
        id="network-gateway-label",
    ),
    pytest.param(
        external_name("static.cdn.example.net", 443, labels={"istio.io/use-waypoint": "none"}),
        "routing-labels",
        "waypoint",
        id="external-name-waypoint-none",
    ),
    pytest.param(
        service(selector=SELECTOR, ports=HTTP, annotations={"internal.istio.io/x": "y"}),
        "routing-labels",
        "reserved",
        id="istio-internal-key",
    ),
]

ORDINARY = [
    pytest.param(service(selector=SELECTOR, ports=HTTP), id="cluster-ip"),
    # no waypoint (GetUseWaypoint isNone): its traffic goes to its endpoints, as in a
    # namespace without a waypoint
    pytest.param(
        service(selector=SELECTOR, ports=HTTP, labels={"istio.io/use-waypoint": "none"}),
        id="waypoint-none",
    ),
    pytest.param(service(selector=SELECTOR, ports=HTTP, clusterIP="None"), id="headless"),
    pytest.param(service(type="NodePort", selector=SELECTOR, ports=HTTP), id="node-port"),
    pytest.param(
        service(
            type="LoadBalancer",
            selector={"istio": "ingressgateway"},
            loadBalancerIP="34.1.2.3",
            ports=[{"name": "https", "port": 443}],
        ),
        id="ingress-load-balancer",
    ),
    pytest.param(
        service(ports=[{"name": "tls", "port": 443}]), id="selectorless-wikipedia-docs-service"
    ),
    pytest.param(
        service(selector=SELECTOR, ports=HTTP, annotations={EXPORT_TO: "."}),
        id="export-to-own-namespace",
    ),
    pytest.param(
        service(selector=SELECTOR, ports=HTTP, externalIPs=["172.18.0.5"]),
        id="external-ip-node-address",
    ),
    pytest.param(external_name("db.shared.svc.cluster.local", 5432), id="alias-in-cluster"),
    pytest.param(external_name(EGRESS_GATEWAY, 443), id="alias-egress-gateway"),
    pytest.param(external_name("static.cdn.example.net", 443), id="alias-direct-allowlisted"),
    pytest.param(external_name("static.cdn.example.net"), id="alias-without-ports"),
    pytest.param(
        external_name(
            "vault.example.org", 8200, namespace="payments", annotations={EXPORT_TO: "."}
        ),
        id="restricted-kept-home",
    ),
]


@pytest.mark.parametrize(("obj", "rule", "fragment"), BYPASSES)
def test_bypasses_are_refused(obj: dict[str, Any], rule: str, fragment: str) -> None:
    found = _found(obj)
    assert rule in found, found
    assert any(fragment in m for m in found[rule]), found[rule]


@pytest.mark.parametrize("obj", ORDINARY)
def test_ordinary_services_are_admitted(obj: dict[str, Any]) -> None:
    assert _found(obj) == {}


def test_message_names_the_service_the_field_and_the_fix() -> None:
    [violation] = findings("external-name", external_name("evil.example.org", 443), CORE_POLICY)
    assert violation.field == "spec.externalName"
    assert "Service default/alias" in violation.message
    assert "ServiceEntry" in violation.message


def test_export_scope_points_at_the_annotation() -> None:
    obj = external_name("vault.example.org", 8200, namespace="payments")
    [violation] = findings("export-scope", obj, CORE_POLICY)
    assert violation.field == f"metadata.annotations[{EXPORT_TO}]"
