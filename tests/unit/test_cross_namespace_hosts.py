"""cross-namespace-hosts: the same external host owned by several namespaces (advisory)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import (
    RULES_POLICY,
    egress_tls_routes,
    tls_service_entry,
    virtual_service,
)
from webhook.policy.engine import evaluate
from webhook.policy.view import StaticMeshView

RULE = "cross-namespace-hosts"


def _se(ns: str, host: str = "api.github.com", name: str = "se", **spec: Any) -> dict[str, Any]:
    return tls_service_entry(host, namespace=ns, name=name, **spec)


def _vs(ns: str, host: str = "api.github.com", **spec: Any) -> dict[str, Any]:
    gateways = ["mesh", "istio-system/istio-egressgateway"]
    return virtual_service(
        ns, "vs", hosts=[host], tls=egress_tls_routes(host), gateways=gateways, **spec
    )


def _warnings(obj: dict[str, Any], objects: list[dict[str, Any]], **view: Any) -> list[str]:
    ns = obj["metadata"]["namespace"]
    # exported everywhere, as the entries are: gateway coverage holds wherever they reach
    covering = [_vs(o["metadata"]["namespace"]) for o in (obj, *objects)]
    mesh = StaticMeshView([*objects, *covering], **view)
    decision = evaluate(obj, RULES_POLICY, namespace=ns, view=mesh)
    assert decision.allowed, decision.message()  # advisory: never a denial
    return [w for w in decision.warnings if w.endswith(f"[{RULE}]")]


@pytest.mark.parametrize(
    ("entry", "others", "warned"),
    [
        (_se("a"), [_se("b")], True),  # both exported everywhere
        (_se("a"), [_se("b", exportTo=["."])], False),  # the other keeps it home
        (_se("a", exportTo=["."]), [_se("b")], False),  # this one keeps it home
        (_se("a", exportTo=["c"]), [_se("b", exportTo=["c"])], True),  # they meet in c
        (_se("a"), [_se("a", name="twin")], False),  # one namespace, one owner
        (_se("a"), [_se("b", host="other.googleapis.com")], False),
    ],
)
def test_service_entries_sharing_an_exported_host(
    entry: dict[str, Any], others: list[dict[str, Any]], warned: bool
) -> None:
    found = _warnings(entry, others)
    assert bool(found) is warned, found
    if warned:
        assert (
            'host "api.github.com" is also declared and exported by ServiceEntry b/se' in found[0]
        )


@pytest.mark.parametrize(
    ("route", "warned"),
    [
        (_vs("a"), True),  # exported everywhere: reaches b, which declares the host
        (_vs("a", exportTo=["b"]), True),
        (_vs("a", exportTo=["."]), False),
        (_vs("a", exportTo=["c"]), False),
    ],
)
def test_a_virtual_service_capturing_another_namespaces_host(
    route: dict[str, Any], warned: bool
) -> None:
    found = _warnings(route, [_se("b", exportTo=["."])])
    assert bool(found) is warned, found
    if warned:
        assert "(ServiceEntry b/se) that this VirtualService is exported to" in found[0]


def test_nothing_is_said_without_a_view_or_with_a_stale_one() -> None:
    stale = StaticMeshView([_se("b")], stale_reason="cut off")
    judged = evaluate(_se("a"), RULES_POLICY, namespace="a", view=stale)
    assert not [w for w in judged.warnings if RULE in w]
    alone = evaluate(_se("a"), RULES_POLICY, namespace="a")
    assert not [w for w in alone.warnings if RULE in w]
