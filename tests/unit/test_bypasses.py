"""Across rules: fields Istio does not have, and the egress configurations of Istio's docs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import GATEWAY, decide, dest, service_entry, virtual_service


def _schema_fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in decide(obj).violations if v.rule == "schema"]


@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        # Door (offline check): TCP matches are L4MatchAttributes, which have no sniHosts
        # (virtual_service.proto); the API server prunes the field, Istio never reads it. The
        # engine read it anyway and narrowed the leg to an allowlisted name, so the
        # VirtualService's real host went unchecked.
        pytest.param(
            virtual_service(
                hosts=["evil.example.org"],
                tcp=[{"match": [{"sniHosts": ["api.github.com"]}], "route": [dest(GATEWAY, 443)]}],
            ),
            ["spec.tcp[0].match[0].sniHosts"],
            id="tcp-match-sniHosts",
        ),
        # TLSMatchAttributes have no sourceSubnet either.
        pytest.param(
            virtual_service(
                hosts=["api.github.com"],
                tls=[
                    {
                        "match": [{"sniHosts": ["api.github.com"], "sourceSubnet": "10.0.0.0/8"}],
                        "route": [dest(GATEWAY, 443)],
                    }
                ],
            ),
            ["spec.tls[0].match[0].sourceSubnet"],
            id="tls-match-sourceSubnet",
        ),
        pytest.param(
            virtual_service(
                hosts=["mongo"],
                tcp=[
                    {
                        "match": [{"port": 27017, "sourceSubnet": "10.0.0.0/8"}],
                        "route": [dest("mongo-v2", 27017)],
                    }
                ],
            ),
            [],
            id="tcp-match-sourceSubnet-is-fine",
        ),
    ],
)
def test_fields_istio_does_not_have_are_refused(obj: dict[str, Any], fields: list[str]) -> None:
    assert _schema_fields(obj) == fields


DOCS_POLICY = policy_from(
    """
allowlist:
  - host: edition.cnn.com
    ports:
      - number: 80
        protocols: [HTTP]
      - number: 443
        protocols: [TLS, HTTPS]
  - host: "*.wikipedia.org"
    ports:
      - number: 443
        protocols: [TLS, HTTPS]
  - host: wikipedia.org               # the "Egress Control for TCP" task's address blocks
    ports:
      - number: 443
        protocols: [TCP]
    cidrs: [91.198.174.192/27, 103.102.166.224/27, 198.35.26.96/27, 208.80.153.224/27,
            208.80.154.224/27]
  - host: my-company-proxy.com        # "Using an External HTTPS Proxy": the proxy's address
    ports:
      - number: 3128
        protocols: [TCP]
    cidrs: [203.0.113.10/32]
egressGateway:
  service: istio-egressgateway.istio-system.svc.cluster.local
  gateways: [istio-system/istio-egressgateway, default/istio-egressgateway]
exemptNamespaces: [istio-system]
"""
)


def _cnn_legs(protocol: str, port: int, upstream_port: int, **extra: Any) -> dict[str, Any]:
    """The two legs of Istio's egress-gateway tasks: mesh -> gateway -> edition.cnn.com."""
    mesh: dict[str, Any] = {"gateways": ["mesh"], "port": port}
    gateway: dict[str, Any] = {"gateways": ["istio-egressgateway"], "port": port}
    if protocol == "tls":
        mesh["sniHosts"] = gateway["sniHosts"] = ["edition.cnn.com"]
    return virtual_service(
        hosts=["edition.cnn.com"],
        gateways=["istio-egressgateway", "mesh"],
        **{
            protocol: [
                {"match": [mesh], "route": [dest(GATEWAY, port, subset="cnn", weight=100)]},
                {"match": [gateway], "route": [dest("edition.cnn.com", upstream_port)], **extra},
            ]
        },
    )


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(
            service_entry(
                hosts=["edition.cnn.com"],
                ports=[
                    {"number": 80, "name": "http-port", "protocol": "HTTP"},
                    {"number": 443, "name": "https", "protocol": "HTTPS"},
                ],
                resolution="DNS",
            ),
            id="cnn-service-entry",
        ),
        pytest.param(_cnn_legs("http", 80, 80), id="egress-gateway-http"),
        pytest.param(_cnn_legs("tls", 443, 443), id="egress-gateway-tls-passthrough"),
        pytest.param(
            _cnn_legs("http", 80, 443, retries={"attempts": 3, "perTryTimeout": "2s"}),
            id="tls-origination-at-the-gateway",
        ),
        pytest.param(
            service_entry(
                hosts=["*.wikipedia.org"],
                ports=[{"number": 443, "name": "https", "protocol": "HTTPS"}],
            ),
            id="wildcard-default-resolution-on-https",
        ),
        pytest.param(
            service_entry(
                hosts=["*.wikipedia.org"],
                ports=[{"number": 443, "name": "tls", "protocol": "TLS"}],
                resolution="DYNAMIC_DNS",
            ),
            id="wildcard-dynamic-dns",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.wikipedia.org"],
                gateways=["mesh", "istio-system/istio-egressgateway"],
                tls=[
                    {
                        "match": [
                            {"gateways": ["mesh"], "port": 443, "sniHosts": ["*.wikipedia.org"]}
                        ],
                        "route": [dest(GATEWAY, 443)],
                    },
                    {
                        "match": [
                            {
                                "gateways": ["istio-system/istio-egressgateway"],
                                "port": 443,
                                "sniHosts": ["*.wikipedia.org"],
                            }
                        ],
                        "route": [dest("www.wikipedia.org", 443)],
                    },
                ],
            ),
            id="wildcard-through-the-gateway",
        ),
        # NONE with addresses: the TCP listener binds to them (buildSidecarOutboundListener).
        pytest.param(
            service_entry(
                hosts=["my-company-proxy.com"],
                addresses=["203.0.113.10/32"],
                ports=[{"number": 3128, "name": "tcp", "protocol": "TCP"}],
                location="MESH_EXTERNAL",
            ),
            id="external-https-proxy",
        ),
        pytest.param(
            service_entry(
                hosts=["wikipedia.org"],
                addresses=[
                    "91.198.174.192/27",
                    "103.102.166.224/27",
                    "198.35.26.96/27",
                    "208.80.153.224/27",
                    "208.80.154.224/27",
                ],
                ports=[{"number": 443, "protocol": "TCP", "name": "tcp-port"}],
                resolution="NONE",
            ),
            id="egress-tcp-address-blocks",
        ),
        pytest.param(
            virtual_service(
                hosts=["reviews"],
                http=[
                    {
                        "match": [{"headers": {"end-user": {"exact": "jason"}}}],
                        "fault": {"delay": {"percentage": {"value": 100}, "fixedDelay": "7s"}},
                        "route": [dest("ratings", subset="v1")],
                    },
                    {
                        "corsPolicy": {"allowOrigins": [{"exact": "https://example.com"}]},
                        "route": [
                            dest("reviews", subset="v1", weight=90),
                            dest("reviews", subset="v2", weight=10),
                        ],
                        "retries": {"attempts": 3},
                        "timeout": "1s",
                        "mirror": {"host": "reviews", "subset": "v3"},
                        "mirrorPercentage": {"value": 10},
                    },
                ],
            ),
            id="in-mesh-canary-fault-cors-mirror",
        ),
        pytest.param(
            virtual_service(
                hosts=["bookinfo.com"],
                gateways=["mygateway"],
                http=[
                    {
                        "match": [{"uri": {"prefix": "/productpage"}}],
                        "delegate": {"name": "productpage", "namespace": "nsa"},
                    }
                ],
            ),
            id="ingress-delegating-root",
        ),
        pytest.param(
            virtual_service(
                "nsa",
                http=[
                    {
                        "match": [{"uri": {"prefix": "/productpage/v1/"}}],
                        "route": [dest("productpage-v1.nsa.svc.cluster.local")],
                    },
                    {"route": [dest("productpage.nsa.svc.cluster.local")]},
                ],
            ),
            id="delegate-routing-inward",
        ),
    ],
)
def test_istio_docs_configurations_pass(obj: dict[str, Any]) -> None:
    decision = decide(obj, DOCS_POLICY)
    assert decision.violations == ()
