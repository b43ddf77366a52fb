"""gateway-servers: servers on the egress gateway pods open only allowlisted hosts, scoped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.gateway_objects import gateway, server
from tests.unit.gateway_route_objects import CNN_POLICY
from tests.unit.istio_objects import RULES_POLICY, RULES_POLICY_YAML, findings
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.gateway_servers import RULE

HOST0 = "spec.servers[0].hosts[0]"
MODE0 = "spec.servers[0].tls.mode"
INGRESS = {"istio": "ingressgateway"}

#: The egress pods carry two labels; a Gateway naming either programs them.
TWO_LABEL_POLICY = policy_from(
    RULES_POLICY_YAML.replace(
        "egressGateway:\n",
        "egressGateway:\n  selector: {istio: egressgateway, app: istio-egressgateway}\n",
        1,
    )
)


def _bound(srv: dict[str, Any], bind: str) -> dict[str, Any]:
    return {**srv, "bind": bind}


def _fields(obj: dict[str, Any], policy: CompiledPolicy = RULES_POLICY) -> list[str]:
    return [v.field for v in findings(RULE, obj, policy)]


BYPASSES = [
    pytest.param(gateway(server("*")), [HOST0], id="bare-wildcard"),
    pytest.param(gateway(server("*/*")), [HOST0], id="any-namespace-any-host"),
    # Labels Istio's charts and injector put on the egress pods beside istio/app: a
    # selector of those programs them (mergeGateways SubsetOf) and AUTO_PASSTHROUGH there
    # forwards by SNI to every service the gateway sees.
    pytest.param(
        gateway(
            server("*", tls={"mode": "AUTO_PASSTHROUGH"}),
            selector={"service.istio.io/canonical-name": "istio-egressgateway"},
        ),
        [HOST0, MODE0],
        id="canonical-name-selector",
    ),
    pytest.param(
        gateway(
            server("evil.example.org"), selector={"operator.istio.io/component": "EgressGateways"}
        ),
        [HOST0],
        id="operator-component-selector",
    ),
    pytest.param(
        gateway(server("*"), selector={"istio": "egressgateway", "istio.io/rev": "default"}),
        [HOST0],
        id="egress-label-and-revision",
    ),
    pytest.param(
        gateway(server("*"), selector={"app.kubernetes.io/part-of": "istio"}),
        [HOST0],
        id="every-istio-gateway-label",
    ),
    # istiod adds the cluster ID, node name and locality to every proxy's labels
    # (ads.go setTopologyLabels, AugmentLabels) before mergeGateways matches: a selector
    # of those alone programs the egress pods too.
    pytest.param(
        gateway(
            server("*", tls={"mode": "AUTO_PASSTHROUGH"}, number=15443),
            selector={"topology.istio.io/cluster": "Kubernetes"},
        ),
        [HOST0, MODE0],
        id="cluster-id-selector",
    ),
    pytest.param(
        gateway(server("evil.example.org"), selector={"kubernetes.io/hostname": "node-1"}),
        [HOST0],
        id="node-name-selector",
    ),
    pytest.param(gateway(server("./*")), [HOST0], id="own-namespace-any-host"),
    pytest.param(gateway(server("*"), selector=None), [HOST0], id="no-selector-every-gateway"),
    pytest.param(gateway(server("evil.example.org"), selector={}), [HOST0], id="empty-selector"),
    pytest.param(gateway(server("evil.example.org")), [HOST0], id="not-allowlisted"),
    pytest.param(gateway(server("*/evil.example.org")), [HOST0], id="star-slash-not-allowlisted"),
    pytest.param(gateway(server("*.github.com")), [HOST0], id="wildcard-wider-than-entry"),
    pytest.param(gateway(server("*.com")), [HOST0], id="tld-wildcard"),
    pytest.param(gateway(server("api.github.com.")), [HOST0], id="trailing-dot"),
    pytest.param(gateway(server("203.0.113.9")), [HOST0], id="ip-literal"),
    pytest.param(gateway(server("db.example.com")), [HOST0], id="restricted-host-elsewhere"),
    pytest.param(
        gateway(server("db.example.com"), namespace="payments"), [HOST0], id="restricted-bare"
    ),
    pytest.param(
        gateway(server("*/db.example.com"), namespace="payments"),
        [HOST0],
        id="restricted-any-namespace",
    ),
    pytest.param(
        gateway(server("default/db.example.com"), namespace="payments"),
        [HOST0],
        id="restricted-other-namespace",
    ),
    pytest.param(
        gateway(server("istio-egressgateway.istio-system.svc.cluster.local")),
        [HOST0],
        id="egress-gateway-own-name",
    ),
    pytest.param(gateway(server("./*.svc.cluster.local")), [HOST0], id="in-cluster-names"),
    pytest.param(
        gateway(server("api.github.com", tls={"mode": "AUTO_PASSTHROUGH"}, number=15443)),
        [MODE0],
        id="auto-passthrough",
    ),
    pytest.param(
        gateway(server("*.local", tls={"mode": "AUTO_PASSTHROUGH"}), selector=None),
        [HOST0, MODE0],
        id="auto-passthrough-every-gateway",
    ),
    pytest.param(
        gateway(server("api.github.com"), server("httpbin.org", "evil.example.org", number=80)),
        ["spec.servers[1].hosts[1]"],
        id="second-server-second-host",
    ),
    pytest.param(
        gateway(server("evil.example.org"), api_version="networking.istio.io/v1alpha3"),
        [HOST0],
        id="v1alpha3",
    ),
    pytest.param(
        gateway(server("evil.example.org", protocol="TCP", number=9000)), [HOST0], id="tcp-server"
    ),
    # A server with its own bind is never checked against the egress gateway's servers
    # (mergeGateways keys them by bind) and gets a listener of its own
    # (buildGatewayListeners): at the pod's address it takes every connection sent to 443
    # there, the whole mesh's egress, which a TCP server sends to its one destination.
    pytest.param(
        gateway(_bound(server("./api.github.com", protocol="TCP"), "10.244.1.7")),
        ["spec.servers[0].bind"],
        id="bind-the-pods-address",
    ),
    # "0.0.0.0" spelled out lands in the egress gateway's own 0.0.0.0_80 listener past the
    # protocol-conflict check: two match-all filter chains, which Envoy rejects.
    pytest.param(
        gateway(_bound(server("./httpbin.org", number=80, protocol="TCP"), "0.0.0.0")),
        ["spec.servers[0].bind"],
        id="bind-the-wildcard-spelled-out",
    ),
    pytest.param(
        gateway(_bound(server("./api.github.com"), "::"), selector=None),
        ["spec.servers[0].bind"],
        id="bind-on-every-gateway-pod",
    ),
]


@pytest.mark.parametrize(("obj", "fields"), BYPASSES)
def test_bypass_attempts(obj: dict[str, Any], fields: list[str]) -> None:
    assert _fields(obj) == fields


def test_another_label_of_the_egress_pods_selects_them() -> None:
    obj = gateway(server("*"), selector={"app": "istio-egressgateway"})
    assert _fields(obj, TWO_LABEL_POLICY) == [HOST0]
    # Bypass: Istio's charts label the egress pods with both; the default knows both.
    assert _fields(obj) == [HOST0]
    only_istio = policy_from(
        RULES_POLICY_YAML.replace(
            "egressGateway:\n", "egressGateway:\n  selector: {istio: egressgateway}\n", 1
        )
    )
    assert _fields(obj, only_istio) == []  # a policy naming one label: taken as other pods


#: Labels kube-gateway.yaml puts on the pods of the approved Gateway API egress gateway
#: (CNN_POLICY: default/cnn-egress-gateway): an Istio Gateway naming them programs those
#: pods (mergeGateways SubsetOf), AUTO_PASSTHROUGH there forwarding by SNI to every
#: service the gateway sees.
GATEWAY_API_EGRESS_PODS = [
    pytest.param({"gateway.networking.k8s.io/gateway-name": "cnn-egress-gateway"}, id="name"),
    pytest.param({"service.istio.io/canonical-name": "cnn-egress-gateway-istio"}, id="deployment"),
    pytest.param({"gateway.istio.io/managed": "istio.io-gateway-controller"}, id="managed"),
    pytest.param({"gateway.networking.k8s.io/gateway-class-name": "istio"}, id="class"),
]


@pytest.mark.parametrize("selector", GATEWAY_API_EGRESS_PODS)
def test_a_gateway_api_egress_gateways_pods_are_egress_pods(selector: dict[str, str]) -> None:
    obj = gateway(server("*", tls={"mode": "AUTO_PASSTHROUGH"}, number=15443), selector=selector)
    assert _fields(obj, CNN_POLICY) == [HOST0, MODE0]


def test_a_tenants_own_gateway_api_gateway_is_not() -> None:
    # A classic Gateway programming the tenant's own Gateway API gateway's pods (by name).
    selector = {"gateway.networking.k8s.io/gateway-name": "web"}
    assert _fields(gateway(server("*", number=80, protocol="HTTP"), selector=selector)) == []


ORDINARY = [
    # tasks/traffic-management/egress/egress-gateway: HTTP through the egress gateway.
    pytest.param(gateway(server("httpbin.org", number=80, protocol="HTTP")), id="egress-http"),
    # ... and the sidecar-to-gateway hop with Istio mTLS.
    pytest.param(
        gateway(server("httpbin.org", protocol="HTTPS", tls={"mode": "ISTIO_MUTUAL"})),
        id="egress-istio-mutual",
    ),
    # egress-gateway "HTTPS traffic": TLS passthrough on 443.
    pytest.param(gateway(server("api.github.com")), id="egress-tls-passthrough"),
    # wildcard-egress-hosts: a wildcard the allowlist contains.
    pytest.param(gateway(server("*.googleapis.com")), id="egress-wildcard"),
    # egress-gateway-tls-origination: HTTP on 80, origination by a DestinationRule.
    pytest.param(
        gateway(server("httpbin.org", number=80, protocol="HTTP"), name="istio-egressgateway"),
        id="egress-tls-origination",
    ),
    # seed guides: a tenant's egress Gateway in its own namespace, bare and scoped hosts.
    pytest.param(
        gateway(
            server("api.github.com", name="tls-github"),
            server("./*.googleapis.com", name="tls-google"),
            name="egress-gateway",
        ),
        id="seed-tenant-egress-gateway",
    ),
    pytest.param(
        gateway(
            server("./db.example.com", protocol="TCP", number=5432),
            server("payments/db.example.com", protocol="TCP", number=5433),
            server("istio-system/db.example.com", protocol="TCP", number=5434),
            namespace="payments",
        ),
        id="restricted-host-scoped",
    ),
    pytest.param(gateway(server("api.github.com", tls={})), id="tls-default-passthrough"),
    pytest.param(gateway(server("API.GITHUB.COM")), id="upper-case-is-the-same-host"),
    pytest.param(
        gateway(server("api.github.com", protocol="HTTPS", tls={"mode": "SIMPLE"})),
        id="egress-simple",
    ),
    # ingress-control / secure-ingress: ingress Gateways are not egress servers.
    pytest.param(gateway(server("*", number=80, protocol="HTTP"), selector=INGRESS), id="ingress"),
    pytest.param(
        gateway(
            server(
                "httpbin.example.com",
                protocol="HTTPS",
                tls={"mode": "SIMPLE", "credentialName": "httpbin-credential"},
            ),
            selector=INGRESS,
        ),
        id="secure-ingress",
    ),
    # An ingress gateway pinned to one cluster of a multicluster mesh: not the egress pods.
    pytest.param(
        gateway(
            server("*", number=80, protocol="HTTP"),
            selector={**INGRESS, "topology.istio.io/cluster": "cluster1"},
        ),
        id="ingress-in-one-cluster",
    ),
    # setup/additional-setup/gateway: a tenant's own gateway pods.
    pytest.param(gateway(server("./*", number=8080, protocol="HTTP"), selector={"app": "my-gw"})),
    # multicluster east-west gateway: not the egress pods.
    pytest.param(
        gateway(
            server("*.local", number=15443, tls={"mode": "AUTO_PASSTHROUGH"}),
            selector={"istio": "eastwestgateway"},
        ),
        id="east-west-gateway",
    ),
    # Another gateway's name or component: not the egress pods.
    pytest.param(
        gateway(server("*"), selector={"service.istio.io/canonical-name": "istio-ingressgateway"}),
        id="another-gateways-canonical-name",
    ),
    pytest.param(
        gateway(server("*"), selector={"istio": "ingressgateway", "istio.io/rev": "default"}),
        id="ingress-label-and-revision",
    ),
    pytest.param(
        gateway(server("*"), selector={"operator.istio.io/component": "IngressGateways"}),
        id="ingress-component",
    ),
    # A Unix domain socket is reached only from inside the pod (istio/api Server.bind).
    pytest.param(
        gateway(_bound(server("./api.github.com", number=0), "unix:///var/run/egress.sock")),
        id="bind-a-unix-socket",
    ),
    # An ingress gateway bound to one of its addresses (gateway.proto's bind): not egress.
    pytest.param(
        gateway(_bound(server("*", number=80, protocol="HTTP"), "10.0.0.5"), selector=INGRESS),
        id="ingress-bind",
    ),
    # A label the egress pods are not known to carry: taken as other pods (documented).
    pytest.param(
        gateway(server("*"), selector={"istio": "egressgateway", "team": "a"}),
        id="extra-label-not-the-egress-pods",
    ),
]


@pytest.mark.parametrize("obj", ORDINARY)
def test_ordinary_configurations(obj: dict[str, Any]) -> None:
    assert _fields(obj) == []


def test_message_names_host_namespace_and_where() -> None:
    (violation,) = findings(RULE, gateway(server("evil.example.org"), namespace="shop"))
    assert violation.field == HOST0
    assert '"evil.example.org"' in violation.message
    assert 'namespace "shop"' in violation.message
    assert "istio=egressgateway" in violation.message


def test_scope_message_says_how_to_fix() -> None:
    (violation,) = findings(RULE, gateway(server("db.example.com"), namespace="payments"))
    assert "every namespace" in violation.message
    assert '"./db.example.com"' in violation.message
