"""Tunnels: a DestinationRule may only tunnel to a host and port its namespace may use.

`TrafficPolicy.tunnel` (istio/api destination_rule.proto TunnelSettings, top level or
`subsets[].trafficPolicy`) makes the proxy send the connection to the rule's host
wrapped in an HTTP CONNECT (or POST) for ``targetHost:targetPort``:
`tunnelingconfig.Apply` (pilot/pkg/networking/core/tunnelingconfig/apply.go) sets
Envoy's ``tcp_proxy.tunneling_config.hostname`` to exactly that, for TCP and TLS
routes at sidecars (tls.go), gateways (networkfilter.go) and waypoints. Whatever
answers at the rule's host (a forward proxy, in the cluster or outside) then opens the
target, which no registry entry was asked about. So the target must be a name in the
cluster, or an external host allowlisted for the rule's namespace on that port; it is
judged whatever the rule's host is (a tunnel over the egress gateway Service, or over
a wildcard host that matches every destination, opens the same target).

A target that must leave through the egress gateway (egressGateway.requireFor) may be
tunnelled to only through an in-cluster host (the egress gateway Service, an in-cluster
proxy): through an outside proxy the CONNECT leaves the mesh for that proxy and the
egress gateway never sees the host.

A name in the cluster domain stays inside, except a pod record
``<a-b-c-d>.<ns>.pod.<domain>``: the proxy that opens the target resolves it, and
CoreDNS in ``pods insecure`` mode (kubeadm's and kind's Corefile) answers with the IP the
name spells, pod or no pod (findPods, coredns plugin/kubernetes/kubernetes.go). Such a
target is judged as that IP.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import describe_ports, entries, external_host_problem, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.destination_rules import DestinationRuleSubject
from webhook.policy.hosts import host_problem, ip_in_networks, is_ip_literal, shown
from webhook.policy.names import pod_record_address
from webhook.resources.destination_rule import TunnelSettings

RULE = "destination-rule-tunnel"


def check(subject: DestinationRuleSubject) -> Iterator[Violation]:
    """A tunnel whose target the namespace may not reach on that port."""
    for site in subject.sites:
        if site.tunnel is None:
            continue
        problem = _target_problem(subject, site.tunnel)
        if problem is not None:
            target = f"{site.tunnel.target_host}:{site.tunnel.target_port}"
            yield Violation(
                RULE,
                f"{site.field}.tunnel.targetHost",
                f"tunnel to {shown(target)} makes the proxy ask the rule's host to open that "
                f"target (HTTP CONNECT): {problem}; tunnel only to a host and port allowlisted "
                f'for namespace "{subject.namespace}", or remove the tunnel',
            )


def _target_problem(subject: DestinationRuleSubject, tunnel: TunnelSettings) -> str | None:
    raw, port = tunnel.target_host, tunnel.target_port
    if not raw:
        return "targetHost is empty"
    if is_ip_literal(raw):
        return _ip_target_problem(subject, raw.strip("[]"), port)
    if "*" in raw:
        return f"targetHost {shown(raw)} is a wildcard; a tunnel opens one name"
    problem = host_problem(raw)
    if problem is not None:
        return f"targetHost {shown(raw)} {problem}"
    host = raw.lower()
    pod_ip = pod_record_address(host, subject.policy.cluster_domain)
    if pod_ip is not None:
        problem = _ip_target_problem(subject, pod_ip, port)
        return (
            None if problem is None else f"{shown(raw)} is a pod DNS name for {pod_ip}: {problem}"
        )
    if not subject.is_external(host):
        return None  # a name in the cluster: the tunnel stays inside
    problem = external_host_problem(subject, raw, host)
    if problem is not None:
        return problem
    found = entries(subject, host)
    if not port_allowed(found, port, None, any_protocol=True):
        allowed = describe_ports(found)
        return f"port {port} is not allowed for host {shown(raw)} (allowed: {allowed})"
    proxy = subject.resolve(subject.spec.host)
    if subject.policy.requires_gateway(host) and subject.is_external(proxy):
        # The CONNECT leaves for the outside proxy: the egress gateway never sees the host.
        return (
            f"host {shown(raw)} must leave through the egress gateway, and a tunnel through "
            f"the outside proxy {shown(proxy)} goes around it (tunnel through an in-cluster "
            "proxy, or route the host to the egress gateway)"
        )
    return None


def _ip_target_problem(subject: DestinationRuleSubject, address: str, port: int) -> str | None:
    """An IP target is inside the mesh, or inside an entry's cidrs that allows the port."""
    if ip_in_networks(address, subject.policy.policy.internal_networks):
        return None
    for entry in subject.policy.policy.allowlist:
        usable = entry.namespaces is None or subject.namespace in entry.namespaces
        if (
            usable
            and ip_in_networks(address, entry.cidrs)
            and port_allowed((entry,), port, None, any_protocol=True)
        ):
            return None
    return (
        f"targetHost {shown(address)} is an IP address outside the internal networks and "
        f"outside the cidrs of every allowlist entry that allows port {port} for namespace "
        f'"{subject.namespace}"'
    )
