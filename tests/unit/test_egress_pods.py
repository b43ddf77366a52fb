"""egress_pods: which Gateway selectors may pick the egress gateway pods."""

from __future__ import annotations

import pytest

from webhook.policy.egress_pods import may_pick_egress_pods

EGRESS = {"istio": "egressgateway", "app": "istio-egressgateway"}


#: The approved egress gateways' names: the default's, and a Gateway API egress gateway's
#: (the egress task's Gateway API tab).
NAMES = frozenset({"istio-egressgateway", "cnn-egress-gateway"})


@pytest.mark.parametrize(
    ("selector", "picks"),
    [
        pytest.param({}, True, id="empty-every-gateway-pod"),
        pytest.param({"istio": "egressgateway"}, True, id="egress-label"),
        pytest.param({"service.istio.io/canonical-name": "istio-egressgateway"}, True, id="name"),
        pytest.param({"app.kubernetes.io/name": "istio-egressgateway"}, True, id="chart-name"),
        pytest.param({"operator.istio.io/component": "EgressGateways"}, True, id="component"),
        pytest.param({"istio": "egressgateway", "istio.io/rev": "canary"}, True, id="revision"),
        pytest.param({"sidecar.istio.io/inject": "false"}, True, id="inject-label"),
        # istiod adds these to every proxy's labels (AugmentLabels) before mergeGateways
        # matches a selector: the default cluster ID selects every gateway pod.
        pytest.param({"topology.istio.io/cluster": "Kubernetes"}, True, id="cluster-id"),
        pytest.param({"kubernetes.io/hostname": "node-1"}, True, id="node-name"),
        pytest.param({"topology.kubernetes.io/zone": "eu-west-1a"}, True, id="zone"),
        # kube-gateway.yaml labels every pod of a Gateway API Gateway Istio deploys, the
        # approved Gateway API egress gateway's too.
        pytest.param(
            {"gateway.networking.k8s.io/gateway-name": "cnn-egress-gateway"}, True, id="gw-api-name"
        ),
        pytest.param({"istio.io/gateway-name": "cnn-egress-gateway"}, True, id="gw-api-name-1.23"),
        pytest.param(
            {"service.istio.io/canonical-name": "cnn-egress-gateway-istio"},
            True,
            id="gw-api-deployment",
        ),
        pytest.param(
            {"gateway.istio.io/managed": "istio.io-gateway-controller"}, True, id="gw-api-managed"
        ),
        pytest.param(
            {"gateway.networking.k8s.io/gateway-class-name": "istio"}, True, id="gw-api-class"
        ),
        pytest.param({"istio": "ingressgateway"}, False, id="ingress"),
        pytest.param(
            {"gateway.networking.k8s.io/gateway-name": "web"}, False, id="gw-api-other-gateway"
        ),
        pytest.param(
            {"gateway.istio.io/managed": "istio.io-mesh-controller"}, False, id="waypoints"
        ),
        pytest.param(
            {"istio": "ingressgateway", "topology.istio.io/cluster": "Kubernetes"},
            False,
            id="ingress-in-one-cluster",
        ),
        pytest.param({"service.istio.io/canonical-name": "my-gw"}, False, id="another-name"),
        pytest.param({"operator.istio.io/component": "IngressGateways"}, False, id="ingress-part"),
        pytest.param({"istio": "egressgateway", "team": "a"}, False, id="unknown-label"),
    ],
)
def test_selectors(selector: dict[str, str], picks: bool) -> None:
    assert may_pick_egress_pods(selector, EGRESS, NAMES) is picks
