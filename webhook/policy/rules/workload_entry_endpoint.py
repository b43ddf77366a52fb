"""A WorkloadEntry is an endpoint: its address must be one the namespace may send traffic to.

A WorkloadEntry with labels becomes an endpoint of every Kubernetes Service in its
namespace whose selector matches them (kube/controller workloadInstanceHandler and
serviceInstanceFromWorkloadInstance, IP addresses only), and of ServiceEntries there
whose workloadSelector matches (serviceentry/conversion.go
convertWorkloadEntryToWorkloadInstance; host names only for DNS entries). Either way an
in-cluster name turns into `address`, and sidecars send that name's traffic straight to
it. So `address` must be in policy.internalNetworks, inside the cidrs of an allowlist
entry the namespace may use, in the cluster domain, or an allowlisted host
(allowlist.address_problem), and an external one must be a host whose traffic need not use
the egress gateway (egressGateway.requireFor), on ports (`ports`, which replace the
selecting Service's targetPort) its entry allows. `network` (or the
``topology.istio.io/network`` label, kube Controller.Network) puts the endpoint on another
network, reached through that network's gateway (EndpointsByNetworkFilter): a way out
nobody vouches for, refused as for ServiceEntry endpoints. The label counts in
``metadata.labels`` too: serviceentry/conversion.go ConvertWorkloadEntry merges the
object's labels into ``spec.labels`` (the object's win) before workloadEntryNetwork reads
them. An empty address is Istio's
validation error unless `network` is set. A ``unix://`` socket is on the calling pod
itself, not on the network. labels, serviceAccount (a SPIFFE identity in the entry's own
namespace), locality and weight only choose and balance endpoints.

A host name address is resolved by the proxy (a DNS ServiceEntry selecting it becomes a
STRICT_DNS cluster of that name: serviceentry/controller.go, DNSServiceEntryOnly). A name
in the cluster domain is a Service's, except the pod records ``<ip>.<ns>.pod.<domain>``:
CoreDNS's kubernetes plugin in ``pods insecure`` mode (the kubeadm and kind Corefile)
answers them with the IP spelled in the name, dashes for dots (``1-2-3-4``) or colons,
without looking for such a pod (plugin/kubernetes/kubernetes.go findPods; labels before
the pod name are ignored, parse.go parseRequest). So such a name is judged as that IP.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from webhook.policy.allowlist import address_problem, describe_ports, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.hosts import ip_in_networks, is_ip_literal, shown
from webhook.policy.model import AllowlistEntry
from webhook.policy.names import pod_record_address
from webhook.policy.subject import Subject
from webhook.resources.workload_entry import UNIX_ADDRESS_PREFIX, WorkloadEntrySpec

RULE = "workload-entry-endpoint"

#: The label Istio reads as the endpoint's network when `network` is empty.
NETWORK_LABEL = "topology.istio.io/network"


def check(subject: Subject[WorkloadEntrySpec]) -> Iterator[Violation]:
    """An address, network or port that lets an in-cluster name lead outside the allowlist."""
    spec = subject.spec
    address = spec.address or ""
    yield from _networks(spec, subject.metadata.labels)
    if not address:
        if not spec.network:
            yield Violation(
                RULE, "spec.address", "address is empty; give the workload's IP or host name"
            )
        return
    if address.startswith(UNIX_ADDRESS_PREFIX):
        return  # a socket on the calling pod: nothing leaves over the network
    if is_ip_literal(address) and "/" in address:
        yield Violation(
            RULE, "spec.address", f"address {shown(address)} must be a single IP, not a CIDR"
        )
        return
    pod_ip = pod_record_address(address, subject.policy.cluster_domain)
    if pod_ip is not None:
        shown_as = f"{shown(address)} (a pod DNS name CoreDNS answers with {pod_ip})"
        address = pod_ip
    else:
        shown_as = shown(address)
    problem = address_problem(subject, address)
    if problem is not None:
        if pod_ip is not None:
            problem = f"{shown_as}: {problem}"
        yield Violation(
            RULE,
            "spec.address",
            f"{problem}; a Service or ServiceEntry selecting this WorkloadEntry would send "
            "its traffic there. Point it at a mesh workload, or register an external host "
            "with a ServiceEntry",
        )
        return
    found = _external_entries(subject, address)
    if found is None:
        return  # internal: a mesh workload
    direct = [e for e in found if not subject.policy.requires_gateway(e.host)]
    if not direct:
        hosts = ", ".join(sorted({e.host for e in found}))
        yield Violation(
            RULE,
            "spec.address",
            f"address {shown_as} is an external destination of {hosts}, whose mesh "
            "traffic must use the egress gateway; a Service or ServiceEntry selecting this "
            "WorkloadEntry would reach it straight from sidecars. Register the host with a "
            "ServiceEntry routed through the egress gateway instead",
        )
        return
    for name, number in sorted(spec.ports.items()):
        if not port_allowed(direct, number, None, any_protocol=True):
            yield Violation(
                RULE,
                f"spec.ports[{name}]",
                f"port {number} of external address {shown_as} is not allowed "
                f"(allowed: {describe_ports(direct)})",
            )


def _networks(spec: WorkloadEntrySpec, labels: Mapping[str, str]) -> Iterator[Violation]:
    """`network`, or the label Istio reads as it (in spec or metadata), hands the traffic to
    another network."""
    for field, network in (
        ("spec.network", spec.network),
        (f"spec.labels[{NETWORK_LABEL}]", (spec.labels or {}).get(NETWORK_LABEL)),
        (f"metadata.labels[{NETWORK_LABEL}]", labels.get(NETWORK_LABEL)),
    ):
        if network:
            yield Violation(
                RULE,
                field,
                f"network {shown(network)} puts the endpoint on another network, reached "
                "through that network's gateway and leaving from there, around the egress "
                "gateway; remove it",
            )


def _external_entries(
    subject: Subject[WorkloadEntrySpec], address: str
) -> tuple[AllowlistEntry, ...] | None:
    """The entries that allow an admitted external `address`, or None when it is internal."""
    if is_ip_literal(address):
        ip = address.strip("[]")
        if ip_in_networks(ip, subject.policy.policy.internal_networks):
            return None
        return tuple(
            e
            for e in subject.policy.policy.allowlist
            if (e.namespaces is None or subject.namespace in e.namespaces)
            and e.cidrs
            and ip_in_networks(ip, e.cidrs)
        )
    host = address.lower()
    if not subject.is_external(host):
        return None
    return subject.entries(host)
