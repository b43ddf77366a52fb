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
    ],
)
def test_hosts(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert any(fragment in m for m in messages), messages
