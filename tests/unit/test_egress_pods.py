"""egress_pods: which Gateway selectors may pick the egress gateway pods."""

from __future__ import annotations

import pytest

from webhook.policy.egress_pods import may_pick_egress_pods

EGRESS = {"istio": "egressgateway", "app": "istio-egressgateway"}


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
        pytest.param({"istio": "ingressgateway"}, False, id="ingress"),
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
    assert may_pick_egress_pods(selector, EGRESS) is picks
