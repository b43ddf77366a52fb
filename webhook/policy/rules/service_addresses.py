"""Service addresses: a tenant Service may not answer for outside addresses or be a gateway.

``spec.externalIPs``: kube-proxy on every node captures traffic to those IPs on the
Service's ports and sends it to the Service's endpoints (CVE-2020-8554), so an outside IP
there takes over an external address for the whole cluster, the egress gateway's own
upstream connections included; Istio also records them as the Service's
ClusterExternalAddresses (ConvertService). The ``topology.istio.io/network`` label makes
a Service a cross-network gateway (networkManager.getGatewayDetails in
pilot/pkg/serviceregistry/kube/controller/network.go): mesh traffic for that network's
endpoints is sent to the Service's external addresses. ``clusterIP`` (allocated from the
Service CIDR) and ``loadBalancerIP`` (an address the cloud load balancer owns) route
nothing outward and are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.core_subjects import ServiceSubject
from webhook.policy.decision import Violation
from webhook.policy.hosts import ip_in_networks, is_ip_literal, shown

RULE = "service-addresses"

#: The Service label that declares a cross-network (east-west) gateway.
NETWORK_LABEL = "topology.istio.io/network"


def check(subject: ServiceSubject) -> Iterator[Violation]:
    """An external IP outside the internal networks; a network-gateway label."""
    networks = subject.policy.policy.internal_networks
    for k, address in enumerate(subject.spec.external_ips):
        if is_ip_literal(address) and ip_in_networks(address.strip("[]"), networks):
            continue
        yield Violation(
            RULE,
            f"spec.externalIPs[{k}]",
            f"external IP {shown(address)} is outside the internal networks "
            f"({', '.join(map(str, networks)) or 'none set'}): kube-proxy would capture the "
            "traffic every workload, the egress gateway included, sends to it; remove it "
            "(expose the Service with type LoadBalancer or NodePort)",
        )
    network = subject.metadata.labels.get(NETWORK_LABEL)
    if network is not None:
        yield Violation(
            RULE,
            f"metadata.labels[{NETWORK_LABEL}]",
            f'"{NETWORK_LABEL}: {network}" makes this Service the gateway Istio sends network '
            f"{shown(network)}'s traffic to; only the platform's east-west gateways may "
            "carry it; remove it",
        )
