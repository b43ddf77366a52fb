"""gateway-routing: external destinations only at approved egress gateways, nothing else there."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_objects import gateway, server
from tests.unit.istio_objects import (
    EGRESS_GW,
    RULES_POLICY,
    decide,
    dest,
    egress_tls_routes,
    findings,
    virtual_service,
)
from webhook.policy.engine import evaluate
from webhook.policy.rules.gateway_routing import RULE
from webhook.policy.view import StaticMeshView


def _at(
    gateway: str, route: dict[str, Any], host: str = "api.github.com", namespace: str = "default"
) -> dict[str, Any]:
    return virtual_service(namespace, hosts=[host], gateways=[gateway], http=[route])


def _fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in findings(RULE, obj)]


OUT = {"route": [dest("api.github.com", 443)]}
FIELD = "spec.http[0].route[0].destination.host"


@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        pytest.param(_at(EGRESS_GW, OUT), [], id="egress-gateway-out"),
        pytest.param(
            _at("istio-egressgateway.istio-system.svc.cluster.local", OUT), [], id="legacy-fqdn-ref"
        ),
        pytest.param(_at("istio-egressgateway.istio-system", OUT), [], id="legacy-two-label-ref"),
        pytest.param(
            _at("istio-system/istio-ingressgateway", OUT), [FIELD], id="ingress-gateway-out"
        ),
        pytest.param(_at("default/my-egress", OUT), [FIELD], id="tenant-gateway-out"),
        pytest.param(_at("istio-egressgateway", OUT), [FIELD], id="bare-name-is-own-namespace"),
        pytest.param(_at("./istio-egressgateway", OUT), [FIELD], id="dot-slash-is-own-namespace"),
        pytest.param(
            _at("istio-egressgateway.default.svc.cluster.local", OUT),
            [FIELD],
            id="legacy-fqdn-other-namespace",
        ),
        pytest.param(
            _at(EGRESS_GW, {"route": [dest("reviews", 9080)]}),
            [FIELD],
            id="egress-gateway-to-in-cluster",
        ),
        pytest.param(
            _at(
                EGRESS_GW,
                {"route": [dest("istio-egressgateway.istio-system.svc.cluster.local", 443)]},
            ),
            [FIELD],
            id="egress-gateway-loop",
        ),
        pytest.param(
            _at(EGRESS_GW, {**OUT, "rewrite": {"authority": "evil.example.org"}}),
            ["spec.http[0].rewrite.authority"],
            id="fronting-rewrite",
        ),
        pytest.param(
            _at(EGRESS_GW, {**OUT, "rewrite": {"authority": "api.github.com"}}),
            [],
            id="allowlisted-rewrite",
        ),
        # Door: the egress gateway sends an absolute-form request line to the external
        # host's front end, which serves the URL's host (RFC 7230 5.7).
        pytest.param(
            _at(EGRESS_GW, {**OUT, "rewrite": {"uri": "https://evil.example.org/"}}),
            ["spec.http[0].rewrite.uri"],
            id="fronting-absolute-uri-rewrite",
        ),
        pytest.param(
            _at(EGRESS_GW, {"delegate": {"name": "x"}}),
            ["spec.http[0].delegate"],
            id="delegate-at-egress",
        ),
        # Ingress: names clients come in on, routed inward.
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["istio-system/ingressgateway"],
                http=[{"route": [dest("productpage", 9080)]}],
            ),
            [],
            id="ingress-inward",
        ),
        pytest.param(
            virtual_service(
                hosts=["*"],
                gateways=["bookinfo-gateway"],
                http=[{"route": [dest("productpage.default.svc.cluster.local", 9080)]}],
            ),
            [],
            id="ingress-any-host-inward",
        ),
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["bookinfo-gateway"],
                http=[{"match": [{"uri": {"prefix": "/ext"}}], "route": [dest("httpbin.org", 80)]}],
            ),
            [FIELD],
            id="ingress-open-proxy-outward",
        ),
        # Door: a hostless VirtualService is a delegate; Istio merges its http routes into
        # whichever parent names it (pilot/pkg/model/virtualservice.go), and that parent may
        # be bound to an ingress gateway. Its external routes cannot be placed, so they are
        # refused even for a host whose mesh traffic may skip the egress gateway.
        pytest.param(
            virtual_service(http=[{"route": [dest("a.cdn.example.net", 443)]}]),
            [FIELD],
            id="delegate-vs-external-at-unknown-gateway",
        ),
        pytest.param(
            virtual_service(http=[{"route": [dest("productpage", 9080)]}]),
            [],
            id="delegate-vs-inward",
        ),
    ],
)
def test_gateway_routing(obj: dict[str, Any], fields: list[str]) -> None:
    assert _fields(obj) == fields


def test_the_standard_pattern_passes_as_a_whole() -> None:
    obj = virtual_service(
        hosts=["api.github.com"], gateways=["mesh", EGRESS_GW], tls=egress_tls_routes()
    )
    assert decide(obj).violations == ()


def test_message_names_the_gateway_and_the_approved_ones() -> None:
    [violation] = [v for v in findings(RULE, _at("default/my-egress", OUT))]
    assert violation.message == (
        'forwards to external host "api.github.com" at gateway "default/my-egress", which is '
        "not an approved egress gateway (approved: istio-system/istio-egressgateway)"
    )


def _with_view(obj: dict[str, Any], *objects: dict[str, Any]) -> list[str]:
    decision = evaluate(obj, RULES_POLICY, view=StaticMeshView(objects))
    assert decision.handled
    assert not decision.exempt
    return [v.field for v in decision.violations if v.rule == RULE]


INWARD = {"route": [dest("collector.team-a.svc.cluster.local", 80)]}


@pytest.mark.parametrize(
    ("selector", "fields"),
    [
        # A tenant Gateway picking the egress pods by a label Istio installs on them:
        # mergeGateways binds it there, so an inward route for an allowlisted host makes
        # the egress gateway forward into the cluster (and, appended to the vhost of every
        # namespace's routes for that host and port, capture theirs).
        pytest.param(
            {"service.istio.io/canonical-name": "istio-egressgateway"}, [FIELD], id="canonical"
        ),
        pytest.param({"istio": "egressgateway", "istio.io/rev": "default"}, [FIELD], id="rev"),
        pytest.param({"istio": "egressgateway"}, [FIELD], id="egress-selector"),
        pytest.param({"istio": "ingressgateway"}, [], id="ingress-gateway-inward-is-fine"),
        pytest.param({"app": "my-gw"}, [], id="own-gateway-inward-is-fine"),
    ],
)
def test_inward_route_at_a_gateway_on_the_egress_pods(
    selector: dict[str, str], fields: list[str]
) -> None:
    gw = gateway(
        server("./api.github.com", number=80, protocol="HTTP"),
        namespace="team-a",
        selector=selector,
    )
    vs = _at("gw", INWARD, namespace="team-a")
    assert _with_view(vs, gw) == fields
