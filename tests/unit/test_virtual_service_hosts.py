"""virtual-service-hosts: hosts opened at sidecars or the egress gateway are allowlisted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import EGRESS_GW, GATEWAY, dest, findings, virtual_service
from webhook.policy.rules.virtual_service_hosts import RULE


def _messages(obj: dict[str, Any]) -> list[str]:
    return [v.message for v in findings(RULE, obj)]


TO_GW = [{"route": [dest(GATEWAY, 443)]}]


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        pytest.param(virtual_service(hosts=["api.github.com"], tls=TO_GW), None, id="allowlisted"),
        pytest.param(
            virtual_service(hosts=["reviews"], http=[{"route": [dest("reviews")]}]),
            None,
            id="internal-short",
        ),
        pytest.param(
            virtual_service(hosts=["evil.example.org"], tls=TO_GW),
            "not on the egress allowlist",
            id="unlisted-at-mesh",
        ),
        pytest.param(
            virtual_service(
                hosts=["evil.example.org"],
                gateways=[EGRESS_GW],
                tls=[{"route": [dest("api.github.com", 443)]}],
            ),
            "not on the egress allowlist",
            id="unlisted-at-egress",
        ),
        pytest.param(
            virtual_service(hosts=["*"], tls=TO_GW), 'bare wildcard "*"', id="bare-wildcard-at-mesh"
        ),
        pytest.param(
            virtual_service(
                hosts=["api.github.com"],
                tls=[
                    {"match": [{"sniHosts": ["evil.example.org"]}], "route": [dest(GATEWAY, 443)]}
                ],
            ),
            "not on the egress allowlist",
            id="sni-host-outside-hosts",
        ),
        # Door: TLS legs are narrowed to their sniHosts, so a host listed only in spec.hosts
        # went unchecked. On sidecars the VirtualService binds to the services its hosts
        # name (VirtualService.hosts, virtual_service.proto) and sniHosts must be a subset of
        # them, so every host of a VirtualService applied at sidecars is opened there.
        pytest.param(
            virtual_service(
                hosts=["api.github.com", "evil.example.org"],
                tls=[{"match": [{"sniHosts": ["api.github.com"]}], "route": [dest(GATEWAY, 443)]}],
            ),
            "not on the egress allowlist",
            id="host-behind-allowlisted-sni",
        ),
        pytest.param(
            virtual_service(hosts=[GATEWAY], http=[{"route": [dest("tenant-proxy")]}]),
            "egress gateway's own name",
            id="capture-gateway",
        ),
        pytest.param(
            virtual_service(
                hosts=["*.istio-system.svc.cluster.local"], http=[{"route": [dest("tenant-proxy")]}]
            ),
            "egress gateway's own name",
            id="capture-gateway-wildcard",
        ),
        pytest.param(
            virtual_service(
                hosts=["*"], gateways=["mesh", "bookinfo-gateway"], http=[{"route": [dest("p")]}]
            ),
            "egress gateway's own name",
            id="capture-gateway-wildcard-at-mesh-and-ingress",
        ),
        pytest.param(
            virtual_service(
                hosts=["*"], gateways=[EGRESS_GW], http=[{"route": [dest("tenant-proxy")]}]
            ),
            "egress gateway's own name",
            id="capture-gateway-wildcard-at-egress-gateway",
        ),
        # Bookinfo's ingress (samples/bookinfo/networking/bookinfo-gateway.yaml): bound only
        # to its ingress Gateway, the VirtualService is never applied at sidecars or at the
        # egress gateway (a VirtualService is indexed by its top-level gateways only).
        pytest.param(
            virtual_service(
                hosts=["*"],
                gateways=["bookinfo-gateway"],
                http=[{"route": [dest("productpage", 9080)]}],
            ),
            None,
            id="bookinfo-ingress-wildcard",
        ),
        pytest.param(
            virtual_service(
                hosts=["*"],
                gateways=["bookinfo-gateway"],
                http=[
                    {
                        "match": [{"gateways": ["mesh"]}],
                        "route": [dest("tenant-proxy")],
                    }
                ],
            ),
            None,
            id="match-gateway-outside-the-top-level-gateways-is-never-applied",
        ),
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["istio-system/ingressgateway", "mesh"],
                http=[{"route": [dest("productpage")]}],
            ),
            None,
            id="ingress-host-also-at-mesh-routed-inward",
        ),
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["istio-system/ingressgateway"],
                http=[{"route": [dest("productpage")]}],
            ),
            None,
            id="ingress-host-not-egress",
        ),
        # Door: an in-cluster name routed to the egress gateway Service lands on a gateway
        # port whose routes another namespace wrote (a TCP server belongs wholly to the
        # first VirtualService bound to it: buildGatewayNetworkFiltersFromTCPRoutes).
        pytest.param(
            virtual_service(hosts=["reviews"], tcp=[{"route": [dest(GATEWAY, 5432)]}]),
            'in-cluster host "reviews" is routed to the egress gateway',
            id="internal-name-to-gateway",
        ),
        pytest.param(
            virtual_service(
                hosts=["reviews.default.svc.cluster.local"],
                http=[{"route": [dest("reviews")], "mirror": {"host": GATEWAY}}],
            ),
            "in-cluster host",
            id="internal-name-mirrored-to-gateway",
        ),
        pytest.param(
            virtual_service(
                hosts=["api.github.com"],
                tcp=[{"match": [{"port": 5432}], "route": [dest(GATEWAY, 5432)]}],
            ),
            "port 5432 is not allowed",
            id="allowlisted-host-on-another-port-to-gateway",
        ),
        pytest.param(
            virtual_service(
                hosts=["db.example.com"],
                tcp=[{"match": [{"port": 5432}], "route": [dest(GATEWAY, 5432)]}],
            ),
            "only for namespace payments",
            id="other-namespaces-host-to-gateway",
        ),
        pytest.param(
            virtual_service(http=[{"route": [dest(GATEWAY, 80)]}]),
            "from a delegate VirtualService",
            id="delegate-to-gateway",
        ),
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["istio-system/ingressgateway"],
                http=[{"route": [dest(GATEWAY, 80)]}],
            ),
            "not on the egress allowlist",
            id="ingress-host-to-gateway",
        ),
        pytest.param(
            virtual_service(hosts=["*.com"], http=[{"route": [dest(GATEWAY, 80)]}]),
            "over-broad wildcard",
            id="tld-wildcard-to-gateway",
        ),
        pytest.param(
            virtual_service(
                hosts=["httpbin.org"],
                http=[{"match": [{"port": 80}], "route": [dest(GATEWAY, 80)]}],
            ),
            None,
            id="allowlisted-host-on-its-port-to-gateway",
        ),
        pytest.param(
            virtual_service(
                "payments",
                hosts=["db.example.com"],
                tcp=[{"match": [{"port": 5432}], "route": [dest(GATEWAY, 5432)]}],
            ),
            None,
            id="own-namespaces-host-to-gateway",
        ),
    ],
)
def test_hosts(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert any(fragment in m for m in messages), messages
