"""routing-labels: metadata that reroutes traffic is checked like spec fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.fetch_objects import DOCS_WASM, FETCH_POLICY, traffic_extension, wasm_plugin
from tests.unit.gateway_objects import workload_entry
from tests.unit.istio_objects import (
    RULES_POLICY_YAML,
    findings,
    service_entry,
    tls_service_entry,
)
from webhook.policy.rules.routing_labels import RULE

WAYPOINT_POLICY = policy_from(
    RULES_POLICY_YAML.replace(
        "  gateways: [istio-system/istio-egressgateway]",
        "  gateways: [istio-system/istio-egressgateway]\n"
        "  waypoints: [istio-egress/egress-gateway]",
    )
)


def _obj(
    labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, object]:
    obj = tls_service_entry("api.github.com")
    if labels:
        obj["metadata"]["labels"] = labels  # type: ignore[index]
    if annotations:
        obj["metadata"]["annotations"] = annotations  # type: ignore[index]
    return obj


@pytest.mark.parametrize(
    ("labels", "annotations", "denied"),
    [
        ({"app": "payments", "istio.io/rev": "stable"}, None, False),
        ({"istio.io/use-waypoint": "none"}, None, True),  # ambient: opt out of the egress waypoint
        ({"istio.io/use-waypoint": "my-waypoint"}, None, True),
        (
            {
                "istio.io/use-waypoint": "egress-gateway",
                "istio.io/use-waypoint-namespace": "istio-egress",
            },
            None,
            True,
        ),
        ({"istio.io/use-waypoint-namespace": "istio-egress"}, None, True),
        ({"istio.io/ingress-use-waypoint": "true"}, None, True),
        (None, {"internal.istio.io/route-semantics": "gateway"}, True),
        (None, {"kubectl.kubernetes.io/last-applied-configuration": "{}"}, False),
    ],
)
def test_labels_without_approved_waypoints(
    labels: dict[str, str] | None, annotations: dict[str, str] | None, denied: bool
) -> None:
    assert any(findings(RULE, _obj(labels, annotations))) is denied


@pytest.mark.parametrize(
    ("labels", "denied"),
    [
        (
            {
                "istio.io/use-waypoint": "egress-gateway",
                "istio.io/use-waypoint-namespace": "istio-egress",
            },
            False,
        ),
        ({"istio.io/use-waypoint": "egress-gateway"}, True),  # resolves in the object's namespace
        ({"istio.io/use-waypoint": "none"}, True),
        # canary waypoints (buildWeightedWaypoints): the weight annotation can give it every
        # connection, so a canary is judged like the primary
        (
            {
                "istio.io/use-waypoint": "egress-gateway",
                "istio.io/use-waypoint-namespace": "istio-egress",
                "istio.io/use-waypoint-canary": "my-waypoint",
            },
            True,
        ),
        (
            {
                "istio.io/use-waypoint": "egress-gateway",
                "istio.io/use-waypoint-namespace": "istio-egress",
                "istio.io/use-waypoint-canary": "egress-gateway",
                "istio.io/use-waypoint-canary-namespace": "tenant-b",
            },
            True,
        ),
        (
            {
                "istio.io/use-waypoint": "egress-gateway",
                "istio.io/use-waypoint-namespace": "istio-egress",
                "istio.io/use-waypoint-canary": "egress-gateway-v2",
                "istio.io/use-waypoint-canary-namespace": "istio-egress",
            },
            True,  # not in egressGateway.waypoints
        ),
        ({"istio.io/use-waypoint-canary": "my-waypoint"}, True),  # under the namespace's primary
        (
            {
                "istio.io/use-waypoint-canary": "egress-gateway",
                "istio.io/use-waypoint-canary-namespace": "istio-egress",
            },
            False,  # an approved canary
        ),
        ({"istio.io/use-waypoint-canary-namespace": "istio-egress"}, True),
        (
            {
                "istio.io/use-waypoint": "egress-gateway",
                "istio.io/use-waypoint-namespace": "istio-egress",
                "istio.io/use-waypoint-canary": "none",  # ignored by getUseWaypointCanary
            },
            False,
        ),
        # a waypoint's own Service has no waypoint (fetchWaypointForService): "none" by another name
        ({"gateway.istio.io/managed": "istio.io-mesh-controller"}, True),
        ({"gateway.istio.io/managed": "istio.io-eastwest-controller"}, True),
    ],
)
def test_approved_egress_waypoint(labels: dict[str, str], denied: bool) -> None:
    found = [v for v in findings(RULE, _obj(labels), WAYPOINT_POLICY)]
    assert bool(found) is denied


def _service(labels: dict[str, str], **spec: object) -> dict[str, object]:
    body: dict[str, object] = {"ports": [{"name": "http", "port": 9080}]}
    body.update(spec or {"selector": {"app": "reviews"}})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "reviews", "namespace": "bookinfo", "labels": labels},
        "spec": body,
    }


@pytest.mark.parametrize(
    ("obj", "denied"),
    [
        # docs/ambient/usage/waypoint/: an in-cluster Service through its namespace's waypoint
        (_service({"istio.io/use-waypoint": "waypoint"}), False),
        (
            _service(
                {"istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-namespace": "wp"}
            ),
            False,
        ),
        # no waypoint (GetUseWaypoint isNone): straight to the endpoints, as in a namespace
        # without one; ingress gateways then call the namespace's waypoint, if any
        (_service({"istio.io/use-waypoint": "none"}), False),
        (_service({"istio.io/use-waypoint-namespace": "wp"}), True),
        (_service({"istio.io/ingress-use-waypoint": "true"}), False),
        (
            _service(
                {"istio.io/use-waypoint": "waypoint", "istio.io/ingress-use-waypoint": "true"}
            ),
            False,
        ),
        (_service({"istio.io/use-waypoint": "waypoint"}, type="NodePort"), False),
        # an ExternalName alias is an outside host: the ServiceEntry rule holds
        (
            _service(
                {"istio.io/use-waypoint": "waypoint"},
                type="ExternalName",
                externalName="api.github.com",
            ),
            True,
        ),
        (_service({"internal.istio.io/gateway-service": "x"}), True),
        (
            _service(
                {"istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-canary": "waypoint-v2"}
            ),
            False,
        ),
        # a canary beside the namespace's primary (ResolveUseWaypointCanary reads the
        # Service's own canary label): a share of the Service's own traffic
        (_service({"istio.io/use-waypoint-canary": "waypoint-v2"}), False),
        (
            _service(
                {
                    "istio.io/use-waypoint-canary": "waypoint-v2",
                    "istio.io/use-waypoint-canary-namespace": "wp",
                }
            ),
            False,
        ),
        (_service({"istio.io/use-waypoint": "none", "istio.io/use-waypoint-canary": "w"}), False),
        # an ExternalName alias keeps the rule for none and ingress-use-waypoint too
        (
            _service(
                {"istio.io/use-waypoint": "none"},
                type="ExternalName",
                externalName="api.github.com",
            ),
            True,
        ),
        (
            _service(
                {"istio.io/ingress-use-waypoint": "true"},
                type="ExternalName",
                externalName="api.github.com",
            ),
            True,
        ),
        (
            _service(
                {"istio.io/use-waypoint-canary": "waypoint-v2"},
                type="ExternalName",
                externalName="api.github.com",
            ),
            True,
        ),
    ],
)
def test_in_cluster_service_may_name_any_waypoint(obj: dict[str, object], denied: bool) -> None:
    assert any(findings(RULE, obj)) is denied


def _labelled(obj: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    obj["metadata"]["labels"] = labels
    return obj


@pytest.mark.parametrize(
    ("obj", "denied"),
    [
        (wasm_plugin(DOCS_WASM), False),
        (traffic_extension(wasm={"url": DOCS_WASM}), False),
        # the same metadata keys are judged on every kind, as on a WasmPlugin
        (_labelled(wasm_plugin(DOCS_WASM), {"istio.io/use-waypoint": "my-waypoint"}), True),
        (
            _labelled(
                traffic_extension(wasm={"url": DOCS_WASM}), {"istio.io/use-waypoint": "none"}
            ),
            True,
        ),
        (
            _labelled(
                traffic_extension(wasm={"url": DOCS_WASM}),
                {"app.kubernetes.io/name": "basic-auth", "istio.io/rev": "stable"},
            ),
            False,
        ),
    ],
)
def test_extensions_are_held_to_the_same_keys(obj: dict[str, object], denied: bool) -> None:
    assert any(findings(RULE, obj, FETCH_POLICY)) is denied


def _workload_entry(labels: dict[str, str]) -> dict[str, object]:
    return workload_entry(
        address="10.128.0.12", labels={"app": "vm"}, metadata_labels=labels, serviceAccount="vm"
    )


@pytest.mark.parametrize(
    ("obj", "denied"),
    [
        # docs/ambient/usage/waypoint "Configure a pod to use a specific waypoint", for a VM:
        # only traffic addressed to the workload goes through it (fetchWaypointForWorkload),
        # and the waypoint forwards it to the entry's own address
        (_workload_entry({"istio.io/use-waypoint": "vm-waypoint"}), False),
        (
            _workload_entry(
                {"istio.io/use-waypoint": "wp", "istio.io/use-waypoint-namespace": "shared"}
            ),
            False,
        ),
        (_workload_entry({"istio.io/use-waypoint": "none"}), False),
        (_workload_entry({"internal.istio.io/gateway-service": "x"}), True),
        # the ServiceEntry such a VM may back keeps the rule: its waypoint carries its hosts
        (
            service_entry(labels={"istio.io/use-waypoint": "vm-waypoint"}, hosts=["vm.internal"]),
            True,
        ),
    ],
)
def test_workload_entry_may_name_any_waypoint(obj: dict[str, object], denied: bool) -> None:
    assert any(findings(RULE, obj, WAYPOINT_POLICY)) is denied
