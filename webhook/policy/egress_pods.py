"""Which Gateway selectors may pick the egress gateway pods, given the labels Istio installs."""

from __future__ import annotations

from collections.abc import Collection, Mapping

#: Labels Istio's installers and injector put on every gateway pod, with a value that does
#: not tell one gateway from another (or that the webhook cannot know): the istio-egress
#: chart (manifests/charts/gateways/istio-egress/templates/deployment.yaml: heritage,
#: release, chart, istio.io/rev, install.operator.istio.io/owning-resource,
#: sidecar.istio.io/inject, service.istio.io/canonical-revision), the `gateway` chart
#: (manifests/charts/gateway: sidecar.istio.io/inject, istio.io/rev and the
#: ``istio.labels`` app.kubernetes.io/* and helm.sh/chart), the gateway injection template
#: (canonical-revision) and the Deployment's pod-template-hash. A selector naming one of
#: them may well pick the egress pods.
SHARED_INSTALL_LABELS = frozenset(
    {
        "app.kubernetes.io/instance",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/version",
        "chart",
        "helm.sh/chart",
        "heritage",
        "install.operator.istio.io/owning-resource",
        "istio.io/dataplane-mode",
        "istio.io/rev",
        "pod-template-hash",
        "release",
        "security.istio.io/tlsMode",
        "service.istio.io/canonical-revision",
        "sidecar.istio.io/inject",
    }
)

#: Labels istiod adds to every proxy's own labels before it matches a Gateway selector
#: (xds/ads.go setTopologyLabels -> serviceregistry/util/label AugmentLabels: the cluster
#: ID, the node name, the locality's region, zone and subzone, the network), so
#: PushContext.mergeGateways' ``SubsetOf(proxy.Labels)`` sees them on the egress pods as
#: on any other, with values (``topology.istio.io/cluster: Kubernetes`` by default) that
#: the webhook cannot know to differ. A selector naming only these picks the egress pods.
PROXY_TOPOLOGY_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "topology.istio.io/cluster",
        "topology.istio.io/network",
        "topology.istio.io/subzone",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    }
)

#: Labels whose value is the gateway's own name: the istio-egress chart sets
#: service.istio.io/canonical-name to the gateway name (its ``app`` label), the `gateway`
#: chart sets app.kubernetes.io/name to it and the gateway injection template copies it
#: (or ``app``) into service.istio.io/canonical-name.
NAME_LABELS = frozenset({"app.kubernetes.io/name", "service.istio.io/canonical-name"})

#: Labels istiod's Gateway API deployment template (manifests/charts/istio-control/
#: istio-discovery/files/kube-gateway.yaml) puts on the pods of every Gateway it deploys,
#: an approved Gateway API egress gateway's among them: the class name (``istio``) and the
#: managing controller. Beside them, ``gateway.networking.k8s.io/gateway-name`` is the
#: Gateway's name and ``service.istio.io/canonical-name`` its deployment's,
#: ``<name>-istio``.
GATEWAY_API_CLASS_LABEL = "gateway.networking.k8s.io/gateway-class-name"
GATEWAY_API_MANAGED_LABEL = "gateway.istio.io/managed"
GATEWAY_API_CONTROLLER = "istio.io-gateway-controller"
#: The labels whose value is the Gateway's name: Istio 1.21 to 1.23 set
#: ``istio.io/gateway-name`` beside the Gateway API one.
GATEWAY_API_NAME_LABELS = frozenset(
    {"gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name"}
)
GATEWAY_API_DEPLOYMENT_SUFFIX = "-istio"

#: The istio-egress chart's component label, and its value on the egress pods.
COMPONENT_LABEL = "operator.istio.io/component"
EGRESS_COMPONENT = "EgressGateways"


def may_pick_egress_pods(
    selector: Mapping[str, str], egress: Mapping[str, str], gateway_names: Collection[str] = ()
) -> bool:
    """True unless `selector` names a label the egress pods are known not to carry.

    Istio binds a Gateway to every gateway pod whose labels contain its selector
    (PushContext.mergeGateways: ``labels.Instance(selector).SubsetOf(proxy.Labels)``), and
    the egress pods carry more labels than egressGateway.selector lists: those above, and
    the topology labels istiod adds to every proxy. A selector of egressGateway.selector's
    labels and these picks them (an empty one every gateway pod); one that gives an egress
    label another value, names another gateway, or names any other label is taken to pick
    other pods. `gateway_names` are the names of the approved egress gateways
    (egressGateway.gateways): one may be a Gateway API Gateway, whose pods carry its name,
    its deployment's name and the labels every Gateway API gateway pod carries.
    """
    deployments = {name + GATEWAY_API_DEPLOYMENT_SUFFIX for name in gateway_names}
    for key, value in selector.items():
        if key in egress:
            if egress[key] != value:
                return False
        elif key in NAME_LABELS:
            if value not in egress.values() and value not in deployments:
                return False
        elif key in GATEWAY_API_NAME_LABELS:
            if value not in gateway_names:
                return False
        elif key == GATEWAY_API_MANAGED_LABEL:
            if value != GATEWAY_API_CONTROLLER:
                return False
        elif key == COMPONENT_LABEL:
            if value != EGRESS_COMPONENT:
                return False
        elif key not in SHARED_INSTALL_LABELS and key not in PROXY_TOPOLOGY_LABELS:
            if key == GATEWAY_API_CLASS_LABEL and gateway_names:
                continue  # any class: the approved Gateway's is not in view
            return False
    return True
