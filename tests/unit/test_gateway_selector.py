"""gateway-selector: an approved egress Gateway programs the egress pods and no others.

Also pins the decision that a tenant's egress Gateway (the seed guides put them in
application namespaces) serves routes to external hosts only once the policy lists it:
a VirtualService alone cannot tell an egress Gateway from an ingress one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.gateway_objects import gateway, server
from tests.unit.istio_objects import (
    GATEWAY,
    RULES_POLICY,
    RULES_POLICY_YAML,
    decide,
    dest,
    findings,
    virtual_service,
)
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.gateway_selector import RULE

#: The platform approved the seed guide's tenant egress Gateway production/payment-egress-gateway.
TENANT_GW = "production/payment-egress-gateway"
LISTED = policy_from(
    RULES_POLICY_YAML.replace(
        "gateways: [istio-system/istio-egressgateway]",
        f"gateways: [istio-system/istio-egressgateway, {TENANT_GW}]",
        1,
    )
)
TWO_LABELS = policy_from(
    RULES_POLICY_YAML.replace(
        "gateways: [istio-system/istio-egressgateway]",
        f"gateways: [istio-system/istio-egressgateway, {TENANT_GW}]\n"
        "  selector: {istio: egressgateway, app: istio-egressgateway}",
        1,
    )
)


def _payment_gateway(selector: dict[str, str] | None, **kwargs: Any) -> dict[str, Any]:
    return gateway(
        server("api.github.com", name="tls-payment"),
        namespace="production",
        name="payment-egress-gateway",
        selector=selector,
        **kwargs,
    )


BYPASSES = [
    pytest.param(_payment_gateway({"istio": "ingressgateway"}), LISTED, id="listed-on-ingress"),
    pytest.param(_payment_gateway(None), LISTED, id="listed-without-selector"),
    pytest.param(_payment_gateway({}), LISTED, id="listed-empty-selector"),
    pytest.param(_payment_gateway({"app": "my-gw"}), LISTED, id="listed-on-tenant-pods"),
    pytest.param(
        _payment_gateway({"istio": "egressgateway", "team": "payments"}),
        LISTED,
        id="listed-extra-label",
    ),
    pytest.param(
        _payment_gateway({"istio": "egressgateway"}, api_version="networking.istio.io/v1beta1"),
        policy_from(
            RULES_POLICY_YAML.replace(
                "gateways: [", f"selector: {{app: egress}}\n  gateways: [{TENANT_GW}, ", 1
            )
        ),
        id="listed-policy-selector-differs",
    ),
]


@pytest.mark.parametrize(("obj", "policy"), BYPASSES)
def test_bypass_attempts(obj: dict[str, Any], policy: CompiledPolicy) -> None:
    assert [v.field for v in findings(RULE, obj, policy)] == ["spec.selector"]


ORDINARY = [
    pytest.param(_payment_gateway({"istio": "egressgateway"}), LISTED, id="listed-egress"),
    pytest.param(
        _payment_gateway({"app": "istio-egressgateway"}), TWO_LABELS, id="listed-other-label"
    ),
    pytest.param(
        _payment_gateway({"istio": "ingressgateway"}), RULES_POLICY, id="unlisted-ingress"
    ),
    # Not approved, so nothing routes out at it; its servers are gateway-servers' business.
    pytest.param(_payment_gateway(None), RULES_POLICY, id="unlisted-without-selector"),
    pytest.param(
        gateway(server("shop.example.com", number=80, protocol="HTTP"), selector={"app": "gw"}),
        LISTED,
        id="unlisted-tenant-gateway",
    ),
]


@pytest.mark.parametrize(("obj", "policy"), ORDINARY)
def test_ordinary_configurations(obj: dict[str, Any], policy: CompiledPolicy) -> None:
    assert findings(RULE, obj, policy) == []


def test_message_names_the_gateway_and_the_fix() -> None:
    (violation,) = findings(RULE, _payment_gateway({"istio": "ingressgateway"}), LISTED)
    assert f'"{TENANT_GW}"' in violation.message
    assert "istio: ingressgateway" in violation.message
    assert "set selector to {app: istio-egressgateway, istio: egressgateway}" in violation.message


def _seed_route(gateway_ref: str) -> dict[str, Any]:
    """The seed guide's VirtualService: mesh -> egress gateway -> api.github.com, TLS."""
    return virtual_service(
        "production",
        "payment-api-routing",
        hosts=["api.github.com"],
        gateways=["mesh", gateway_ref],
        tls=[
            {
                "match": [{"gateways": ["mesh"], "port": 443, "sniHosts": ["api.github.com"]}],
                "route": [dest(GATEWAY, 443)],
            },
            {
                "match": [{"gateways": [gateway_ref], "port": 443, "sniHosts": ["api.github.com"]}],
                "route": [dest("api.github.com", 443)],
            },
        ],
    )


@pytest.mark.parametrize("ref", ["payment-egress-gateway", "./payment-egress-gateway", TENANT_GW])
def test_seed_tenant_egress_gateway_routes_once_listed(ref: str) -> None:
    gw = _payment_gateway({"istio": "egressgateway"})
    assert decide(gw, LISTED).allowed
    assert decide(_seed_route(ref), LISTED).allowed
    unlisted = decide(_seed_route(ref))
    assert not unlisted.allowed
    assert unlisted.rules_hit == ("gateway-routing",)
