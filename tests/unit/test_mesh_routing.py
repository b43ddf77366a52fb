"""mesh-routing: sidecar traffic to gateway-required hosts goes to the egress gateway, all of it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import (
    EGRESS_GW,
    GATEWAY,
    dest,
    egress_tls_routes,
    findings,
    virtual_service,
)
from webhook.policy.rules.mesh_routing import RULE


def _http_vs(
    routes: list[dict[str, Any]], host: str = "httpbin.org", **spec: Any
) -> dict[str, Any]:
    return virtual_service(hosts=[host], http=routes, **spec)


def _fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in findings(RULE, obj)]


TO_GATEWAY = {"route": [dest(GATEWAY, 80)]}


@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        pytest.param(
            virtual_service(
                hosts=["api.github.com"], gateways=["mesh", EGRESS_GW], tls=egress_tls_routes()
            ),
            [],
            id="standard-tls-pattern",
        ),
        pytest.param(_http_vs([TO_GATEWAY]), [], id="http-to-gateway"),
        pytest.param(
            _http_vs(
                [
                    {
                        "route": [
                            dest(
                                "istio-egressgateway.istio-system.svc.cluster.local", 80, weight=100
                            )
                        ]
                    }
                ]
            ),
            [],
            id="weight-100",
        ),
        pytest.param(
            _http_vs([{"route": [dest(GATEWAY.upper(), 80)]}]), [], id="gateway-name-case"
        ),
        pytest.param(
            _http_vs([{"route": [dest(GATEWAY, 80, subset="v1")]}]), [], id="gateway-subset"
        ),
        pytest.param(
            _http_vs([{"redirect": {"authority": "example.org"}}]), [], id="redirect-is-not-egress"
        ),
        pytest.param(_http_vs([{"directResponse": {"status": 418}}]), [], id="direct-response"),
        pytest.param(
            _http_vs(
                [
                    {
                        **TO_GATEWAY,
                        "rewrite": {"uri": "/v2"},
                        "retries": {"attempts": 3},
                        "timeout": "5s",
                    }
                ]
            ),
            [],
            id="harmless-http-options",
        ),
        # Around the gateway.
        pytest.param(
            _http_vs([{"route": [dest("httpbin.org", 80)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="direct",
        ),
        pytest.param(
            _http_vs(
                [{"route": [dest(GATEWAY, 80, weight=90), dest("httpbin.org", 80, weight=10)]}]
            ),
            ["spec.http[0].route[1].destination.host"],
            id="weighted-share-direct",
        ),
        pytest.param(
            _http_vs(
                [{"route": [dest(GATEWAY, 80, weight=100), dest("httpbin.org", 80, weight=0)]}]
            ),
            ["spec.http[0].route[1].destination.host"],
            id="weight-zero-direct-leg",
        ),
        pytest.param(
            _http_vs(
                [{"route": [dest(GATEWAY, 80, weight=50), dest("tenant-proxy", 8080, weight=50)]}]
            ),
            ["spec.http[0].route[1].destination.host"],
            id="share-to-in-cluster-proxy",
        ),
        pytest.param(
            _http_vs([{**TO_GATEWAY, "mirror": {"host": "httpbin.org"}}]),
            ["spec.http[0].mirror.host"],
            id="mirror-direct",
        ),
        pytest.param(
            _http_vs([{**TO_GATEWAY, "mirror": {"host": "collector"}}]),
            ["spec.http[0].mirror.host"],
            id="mirror-in-cluster",
        ),
        pytest.param(
            _http_vs([{**TO_GATEWAY, "mirrors": [{"destination": {"host": "httpbin.org"}}]}]),
            ["spec.http[0].mirrors[0].destination.host"],
            id="mirrors",
        ),
        pytest.param(
            _http_vs([{**TO_GATEWAY, "rewrite": {"authority": "evil.example.org"}}]),
            ["spec.http[0].rewrite.authority"],
            id="authority-rewrite",
        ),
        # Door: an absolute-form URI rewrite sets the Host the egress gateway reads
        # (RFC 7230 5.7; Envoy ServerConnectionImpl::handlePath): an authority rewrite.
        pytest.param(
            _http_vs([{**TO_GATEWAY, "rewrite": {"uri": "http://evil.example.org/"}}]),
            ["spec.http[0].rewrite.uri"],
            id="absolute-uri-rewrite",
        ),
        pytest.param(
            _http_vs(
                [{**TO_GATEWAY, "headers": {"request": {"set": {"Host": "evil.example.org"}}}}]
            ),
            ["spec.http[0].headers.request.set[Host]"],
            id="host-header-set",
        ),
        pytest.param(
            _http_vs(
                [
                    {
                        "route": [
                            {
                                **dest(GATEWAY, 80),
                                "headers": {"request": {"add": {":authority": "evil.example.org"}}},
                            }
                        ]
                    }
                ]
            ),
            ["spec.http[0].route[0].headers.request.add[:authority]"],
            id="authority-header-on-destination",
        ),
        pytest.param(
            _http_vs(
                [
                    {
                        "match": [{"sourceLabels": {"app": "exfil"}}],
                        "route": [dest("httpbin.org", 80)],
                    },
                    TO_GATEWAY,
                ]
            ),
            ["spec.http[0].route[0].destination.host"],
            id="sourceLabels-gated-branch",
        ),
        pytest.param(
            _http_vs(
                [
                    {
                        "match": [{"uri": {"prefix": "/"}}, {"sourceNamespace": "x"}],
                        "route": [dest("httpbin.org", 80)],
                    },
                ]
            ),
            ["spec.http[0].route[0].destination.host"],
            id="several-matches-reported-once-per-target",
        ),
        pytest.param(
            _http_vs(
                [{"match": [{"gateways": ["mesh"]}], "route": [dest("httpbin.org", 80)]}],
                gateways=[EGRESS_GW],
            ),
            ["spec.http[0].route[0].destination.host"],
            id="match-level-mesh-overrides-top-level",
        ),
        pytest.param(
            _http_vs([{"route": [dest("istio-egressgateway", 80)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="short-name-resolves-in-own-namespace",
        ),
        pytest.param(
            _http_vs([{"route": [dest("istio-egressgateway.istio-system", 80)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="two-label-name-is-not-the-gateway",
        ),
        pytest.param(
            _http_vs([{"delegate": {"name": "elsewhere", "namespace": "default"}}]),
            ["spec.http[0].delegate"],
            id="delegate-out-of-view",
        ),
        pytest.param(
            virtual_service(
                hosts=["x.googleapis.com"], tcp=[{"route": [dest("x.googleapis.com", 443)]}]
            ),
            ["spec.tcp[0].route[0].destination.host"],
            id="tcp-direct",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.googleapis.com"],
                tls=[
                    {
                        "match": [{"sniHosts": ["a.googleapis.com"]}],
                        "route": [dest("a.googleapis.com", 443)],
                    }
                ],
            ),
            ["spec.tls[0].route[0].destination.host"],
            id="wildcard-host-sni-direct",
        ),
        # In-cluster routing is not egress.
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["istio-system/ingressgateway", "mesh"],
                http=[{"route": [dest("productpage", 9080)]}],
            ),
            [],
            id="ingress-name-also-bound-to-mesh-routed-inward",
        ),
        pytest.param(
            virtual_service(
                hosts=["api.github.com"], http=[{"route": [dest("tenant-proxy", 8080)]}]
            ),
            ["spec.http[0].route[0].destination.host"],
            id="allowlisted-name-captured-inward",
        ),
        pytest.param(
            virtual_service(
                hosts=["reviews"],
                http=[
                    {
                        "route": [
                            dest("reviews", subset="v1", weight=80),
                            dest("reviews", subset="v2", weight=20),
                        ]
                    }
                ],
            ),
            [],
            id="internal-canary",
        ),
        pytest.param(
            virtual_service(
                hosts=["reviews.default.svc.cluster.local"],
                http=[{**{"route": [dest("ratings")]}, "mirror": {"host": "reviews-shadow"}}],
            ),
            [],
            id="internal-mirror",
        ),
        pytest.param(
            virtual_service(hosts=["reviews"], http=[{"route": [dest("httpbin.org", 80)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="internal-host-routed-outside",
        ),
        pytest.param(
            virtual_service(
                hosts=["reviews"],
                http=[{"route": [dest("reviews")], "mirror": {"host": "httpbin.org"}}],
            ),
            ["spec.http[0].mirror.host"],
            id="internal-host-mirrored-outside",
        ),
        pytest.param(
            virtual_service(hosts=["reviews"], http=[{"delegate": {"name": "reviews-routes"}}]),
            [],
            id="internal-delegate",
        ),
        # Hosts whose gateway use the policy does not require may be reached directly.
        pytest.param(
            virtual_service(
                hosts=["a.cdn.example.net"], tls=[{"route": [dest("a.cdn.example.net", 443)]}]
            ),
            [],
            id="not-required-direct",
        ),
        # Door (domain fronting): straight out to a host the gateway is not required for,
        # asking it for one the gateway is required for (HTTPRewrite.authority,
        # Headers.request): a front end serving both answers, around the gateway.
        pytest.param(
            virtual_service(
                hosts=["a.cdn.example.net"],
                http=[
                    {
                        "route": [dest("a.cdn.example.net", 443)],
                        "rewrite": {"authority": "storage.googleapis.com"},
                    }
                ],
            ),
            ["spec.http[0].rewrite.authority"],
            id="not-required-direct-fronting-required-host",
        ),
        pytest.param(
            virtual_service(
                hosts=["a.cdn.example.net"],
                http=[
                    {
                        "route": [
                            dest(
                                "a.cdn.example.net",
                                443,
                                headers={"request": {"set": {"Host": "api.github.com:443"}}},
                            )
                        ]
                    }
                ],
            ),
            ["spec.http[0].route[0].headers.request.set[Host]"],
            id="not-required-direct-host-header-required-host",
        ),
        # Ordinary: the same route asking for another name the gateway is not required for.
        pytest.param(
            virtual_service(
                hosts=["a.cdn.example.net"],
                http=[
                    {
                        "route": [dest("a.cdn.example.net", 443)],
                        "rewrite": {"authority": "b.cdn.example.net"},
                    }
                ],
            ),
            [],
            id="not-required-direct-rewrite-not-required",
        ),
        # A VirtualService without hosts is a delegate: its context cannot be verified.
        pytest.param(
            virtual_service(http=[{"route": [dest("httpbin.org", 80)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="delegate-vs-external",
        ),
        # Door: Istio reads only a delegate's http routes and merges them into the parent's
        # (pilot/pkg/model/virtualservice.go, mergeVirtualServicesIfNeeded): a hostless
        # VirtualService's own `gateways` are never consulted, so listing the egress Gateway
        # there does not keep its routes off the sidecars of a parent bound to `mesh`.
        pytest.param(
            virtual_service(gateways=[EGRESS_GW], http=[{"route": [dest("httpbin.org", 80)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="delegate-vs-own-gateways-are-ignored",
        ),
        pytest.param(
            virtual_service(http=[{"route": [dest("reviews")]}]), [], id="delegate-vs-internal"
        ),
        # Door: a sidecar applies a VirtualService to every service one of its hosts *matches*
        # (host.Name.Matches, both ways: httproute.go selectVirtualServices, sidecar.go
        # VSMatches) and binds a service to its most specific match
        # (computeWildcardHostVirtualServiceIndex). A wildcard that merely overlaps an
        # allowlisted name captures its traffic, at the sidecars of its own namespace and,
        # exported (the default), of every other; routed "inward" it skipped the gateway.
        pytest.param(
            virtual_service(hosts=["*.com"], http=[{"route": [dest("tenant-proxy", 8080)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="capture-tld-wildcard-inward",
        ),
        pytest.param(
            virtual_service(hosts=["*.github.com"], tls=[{"route": [dest("tenant-proxy", 443)]}]),
            ["spec.tls[0].route[0].destination.host"],
            id="capture-parent-wildcard-inward",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.example.com"],
                exportTo=["."],
                tcp=[{"route": [dest("tenant-proxy", 5432)]}],
            ),
            ["spec.tcp[0].route[0].destination.host"],
            id="capture-other-namespaces-entry-even-private",
        ),
        pytest.param(
            virtual_service(hosts=["*"], http=[{"route": [dest("tenant-proxy", 8080)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="capture-bare-wildcard",
        ),
        pytest.param(
            virtual_service(hosts=["*hub.com"], http=[{"route": [dest("tenant-proxy", 8080)]}]),
            ["spec.http[0].route[0].destination.host"],
            id="capture-partial-label-wildcard",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.example.com"],
                gateways=["istio-system/ingressgateway", "mesh"],
                http=[{"route": [dest("productpage", 9080)]}],
            ),
            ["spec.http[0].route[0].destination.host"],
            id="capture-ingress-wildcard-also-bound-to-mesh",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.com"],
                http=[{**TO_GATEWAY, "mirror": {"host": "collector"}}],
            ),
            ["spec.http[0].mirror.host"],
            id="capture-to-gateway-but-mirrored",
        ),
        pytest.param(
            virtual_service(hosts=["*.com"], http=[TO_GATEWAY]), [], id="capture-sent-to-gateway"
        ),
        # Overlapping no gateway-required name is no capture of a way out.
        pytest.param(
            virtual_service(
                hosts=["*.example.com"],
                gateways=["istio-system/ingressgateway"],
                http=[{"route": [dest("productpage", 9080)]}],
            ),
            [],
            id="ingress-only-wildcard",
        ),
        pytest.param(
            virtual_service(hosts=["*.example.org"], http=[{"route": [dest("productpage")]}]),
            [],
            id="wildcard-overlapping-nothing-allowlisted",
        ),
        pytest.param(
            virtual_service(hosts=["*.example.net"], http=[{"route": [dest("cdn-cache", 443)]}]),
            [],
            id="wildcard-overlapping-only-a-not-required-entry",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.svc.cluster.local"], http=[{"route": [dest("reviews", 9080)]}]
            ),
            [],
            id="in-cluster-wildcard",
        ),
        pytest.param(
            virtual_service(hosts=["*.local"], http=[{"route": [dest("reviews", 9080)]}]),
            [],
            id="dot-local-wildcard",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.default.svc.cluster.local", "reviews"],
                http=[{"route": [dest("reviews", 9080)]}],
            ),
            [],
            id="own-namespace-wildcard",
        ),
    ],
)
def test_mesh_routing(obj: dict[str, Any], fields: list[str]) -> None:
    assert _fields(obj) == fields


def test_message_tells_where_to_route() -> None:
    obj = _http_vs([{"route": [dest("httpbin.org", 80)]}])
    [violation] = [v for v in findings(RULE, obj)]
    assert violation.message == (
        'sends mesh traffic for "httpbin.org" to "httpbin.org", around the egress gateway; '
        f'route all of it to "{GATEWAY}"'
    )


def test_message_names_what_a_wildcard_captures() -> None:
    obj = virtual_service(hosts=["*.github.com"], http=[{"route": [dest("tenant-proxy")]}])
    [violation] = findings(RULE, obj)
    assert violation.message == (
        'sends mesh traffic for "*.github.com" (matching allowlisted "api.github.com") to '
        f'"tenant-proxy", around the egress gateway; route all of it to "{GATEWAY}"'
    )
