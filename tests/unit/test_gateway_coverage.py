"""gateway-coverage and coverage-kept, with the in-memory MeshView (StaticMeshView)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import (
    GATEWAY,
    RULES_POLICY,
    RULES_POLICY_YAML,
    dest,
    egress_tls_routes,
    tls_service_entry,
    virtual_service,
)
from webhook.policy.decision import Decision
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.view import StaticMeshView

SE = tls_service_entry("api.github.com", namespace="payments")


def _vs(namespace: str = "payments", name: str = "github", **spec: Any) -> dict[str, Any]:
    spec.setdefault("hosts", ["api.github.com"])
    spec.setdefault("gateways", ["mesh", "istio-system/istio-egressgateway"])
    spec.setdefault("tls", egress_tls_routes("api.github.com"))
    return virtual_service(namespace, name, **spec)


COVERING = _vs()


def _decide(
    obj: dict[str, Any],
    objects: list[dict[str, Any]],
    *,
    policy: CompiledPolicy = RULES_POLICY,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    stale: str = "",
) -> Decision:
    view = StaticMeshView(objects, stale_reason=stale)
    return evaluate(obj, policy, view=view, operation=operation, old_object=old)


def _rules(decision: Decision) -> set[str]:
    return {v.rule for v in decision.violations}


@pytest.mark.parametrize(
    ("objects", "covered"),
    [
        ([], False),
        ([COVERING], True),
        # another namespace's VirtualService is visible unless its exportTo says otherwise
        ([_vs("other")], True),
        ([_vs("other", exportTo=["."])], False),
        ([_vs("other", exportTo=["payments"])], True),
        # a mesh leg on another port does not cover 443
        ([_vs(tls=[{"match": [{"port": 8443, "sniHosts": ["api.github.com"]}],
                    "route": [dest(GATEWAY, 443)]}], gateways=["mesh"])], False),
        # a wildcard VirtualService host covers the entry's exact host
        ([_vs(hosts=["*.github.com"], gateways=["mesh"],
              tls=[{"match": [{"port": 443}], "route": [dest(GATEWAY, 443)]}])], True),
        # a VirtualService only at the egress gateway (no mesh leg) is not coverage
        ([_vs(gateways=["istio-system/istio-egressgateway"],
              tls=[egress_tls_routes()[1]])], False),
    ],
    ids=["none", "same-ns", "other-ns", "other-ns-private", "exported-to-ns", "other-port",
         "wildcard", "gateway-only"],
)  # fmt: skip
def test_a_service_entry_needs_a_covering_virtual_service(
    objects: list[dict[str, Any]], covered: bool
) -> None:
    decision = _decide(SE, objects)
    assert decision.allowed is covered, decision.message()
    if not covered:
        message = decision.message()
        assert 'host "api.github.com" port 443 is not covered' in message
        assert "kind: VirtualService" in message
        assert GATEWAY in message


def test_without_a_view_coverage_is_not_checked() -> None:
    assert evaluate(SE, RULES_POLICY).allowed


def test_a_stale_view_fails_closed_with_the_reason() -> None:
    decision = _decide(SE, [COVERING], stale="watch of virtualservices disconnected for 40s")
    assert not decision.allowed
    assert "view of the cluster is stale (watch of virtualservices" in decision.message()


@pytest.mark.parametrize(
    ("mode", "allowed", "warned"), [("warn", True, True), ("off", True, False)]
)
def test_coverage_modes(mode: str, allowed: bool, warned: bool) -> None:
    policy = policy_from(
        RULES_POLICY_YAML.replace("egressGateway:\n", f"egressGateway:\n  coverage: {mode}\n")
    )
    decision = _decide(SE, [], policy=policy)
    assert decision.allowed is allowed
    assert any("gateway-coverage" in w for w in decision.warnings) is warned


def test_deleting_the_covering_virtual_service_is_refused_naming_the_entry() -> None:
    decision = _decide(COVERING, [SE, COVERING], operation="DELETE")
    assert not decision.allowed
    assert _rules(decision) == {"coverage-kept"}
    assert "ServiceEntry payments/se" in decision.message()
    assert "delete ServiceEntry payments/se first" in decision.message()


def test_deleting_it_is_allowed_once_the_entry_is_gone_or_another_covers() -> None:
    assert _decide(COVERING, [COVERING], operation="DELETE").allowed
    other = _vs(name="github-too")
    assert _decide(COVERING, [SE, COVERING, other], operation="DELETE").allowed


def test_delete_runs_only_delete_rules() -> None:
    # a non-compliant VirtualService can always be deleted when nothing depends on it
    bad = virtual_service("payments", "bad", hosts=["evil.example.org"],
                          http=[{"route": [dest("evil.example.org")]}])  # fmt: skip
    assert _decide(bad, [bad], operation="DELETE").allowed


def test_an_update_that_drops_the_mesh_leg_is_refused() -> None:
    updated = _vs(gateways=["istio-system/istio-egressgateway"], tls=[egress_tls_routes()[1]])
    decision = _decide(updated, [SE, COVERING], operation="UPDATE", old=COVERING)
    assert _rules(decision) == {"coverage-kept"}
    assert _decide(COVERING, [SE, COVERING], operation="UPDATE", old=COVERING).allowed


def test_a_per_namespace_gateway_selecting_the_egress_pods_is_an_egress_gateway() -> None:
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"namespace": "payments", "name": "egress"},
        "spec": {"selector": {"istio": "egressgateway"}, "servers": []},
    }
    vs = _vs(gateways=["mesh", "egress"], tls=egress_tls_routes(gateway_ref="egress"))
    assert _decide(vs, [gateway]).allowed
    assert "gateway-routing" in _rules(evaluate(vs, RULES_POLICY))  # without the view: not listed
    ingress = {**gateway, "spec": {"selector": {"istio": "ingressgateway"}}}
    assert "gateway-routing" in _rules(_decide(vs, [ingress]))
