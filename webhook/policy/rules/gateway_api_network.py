"""Gateway API network: a tenant's Gateway API Gateway never becomes a cross-network gateway.

With PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API (on by default) every Gateway API Gateway
labelled ``topology.istio.io/network``, whatever its class, is a network gateway: each
``spec.addresses`` value (an IP or a host name, any) with each auto-passthrough (TLS on
15443) or HBONE listener becomes an address where the mesh sends traffic for that
network's endpoints (handleGatewayResource in
pilot/pkg/serviceregistry/kube/controller/network.go). The label also reaches the
Service Istio deploys for the Gateway (its infrastructure labels), and a Service with it
is a network gateway at its load-balancer address (getGatewayDetails). Either way a
tenant picks where other workloads' cross-network traffic goes, an arbitrary IP
included, so the label is refused on the Gateway and in ``spec.infrastructure.labels``.
The east-west and waypoint classes without it are left alone (Istio labels their
Service with the mesh's own network, setLabelOverrides, as it does for every waypoint).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.gateway_api_gateways import NETWORK_LABEL, GatewayApiGatewaySubject
from webhook.policy.hosts import shown

RULE = "gateway-api-network"


def check(subject: GatewayApiGatewaySubject) -> Iterator[Violation]:
    """The network label on the Gateway or on what Istio deploys for it."""
    infra = subject.spec.infrastructure
    places = [("metadata.labels", subject.metadata.labels)]
    if infra is not None and infra.labels is not None:
        places.append(("spec.infrastructure.labels", infra.labels))
    addresses = ", ".join(shown(a.value) for a in subject.spec.addresses) or "its Service's"
    for where, labels in places:
        network = labels.get(NETWORK_LABEL)
        if network is None:
            continue
        yield Violation(
            RULE,
            f"{where}[{NETWORK_LABEL}]",
            f'"{NETWORK_LABEL}: {network}" makes this Gateway a gateway for network '
            f"{shown(network)}: the mesh would send traffic for that network's workloads to "
            f"{addresses} address; remove the label (network gateways are the mesh "
            "administrator's)",
        )
