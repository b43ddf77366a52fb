"""An Istio Gateway under evaluation: which gateway pods it programs, and its server hosts."""

from __future__ import annotations

from dataclasses import dataclass

from webhook.policy.egress_pods import may_pick_egress_pods
from webhook.policy.index import GatewayRef
from webhook.policy.subject import Subject
from webhook.resources.gateway import GatewaySpec

#: The namespace part of a server host meaning "VirtualServices of every namespace".
ANY_NAMESPACE = "*"


@dataclass(frozen=True, slots=True)
class ServerHost:
    """One `servers[].hosts` entry read as Istio reads it (model.sanitizeServerHostNamespace).

    ``ns/host`` binds VirtualServices of namespace ``ns``; ``./host`` those of the
    Gateway's namespace; ``*/host`` and a bare ``host`` those of every namespace.
    """

    raw: str
    #: The namespace whose VirtualServices may bind, or ``*`` for every namespace.
    namespace: str
    #: The dnsName part, as written.
    host: str


def server_host(raw: str, gateway_namespace: str) -> ServerHost:
    """Split a server host into its namespace part and its dnsName part."""
    if "/" not in raw:
        return ServerHost(raw, ANY_NAMESPACE, raw)
    namespace, _, host = raw.partition("/")
    return ServerHost(raw, gateway_namespace if namespace == "." else namespace, host)


@dataclass(frozen=True, slots=True)
class GatewaySubject(Subject[GatewaySpec]):
    """A Gateway and the questions its rules ask about the pods it programs."""

    @property
    def ref(self) -> GatewayRef:
        """This Gateway as VirtualServices name it (``namespace/name``)."""
        return GatewayRef(self.namespace, self.name.lower())

    @property
    def is_listed_egress_gateway(self) -> bool:
        """True when egressGateway.gateways names this Gateway."""
        return self.ref in self.policy.egress_gateway_refs

    @property
    def selects_every_gateway(self) -> bool:
        """True without a selector (absent or empty): Istio applies it to every gateway pod.

        PushContext.mergeGateways: ``gw.GetSelector() == nil`` -> "Applies to all workloads
        asking for the gateway"; an empty map is the same (and a subset of any labels).
        """
        return not self.spec.selector

    @property
    def selects_egress_pods(self) -> bool:
        """True when the Gateway programs the egress gateway pods.

        Istio matches ``labels.Instance(selector).SubsetOf(proxy.Labels)`` against gateway
        pods of every namespace (PILOT_SCOPE_GATEWAY_TO_NAMESPACE is off by default). The
        webhook knows the egress pods' labels only as egressGateway.selector, so a selector
        matches when each of its labels is there; one with a label beyond those is taken
        not to match (list every label the egress pods carry in egressGateway.selector).
        """
        egress = self.policy.policy.egress_gateway.selector
        selector = self.spec.selector or {}
        return all(egress.get(key) == value for key, value in selector.items())

    @property
    def may_program_egress_pods(self) -> bool:
        """True when the Gateway may program the egress gateway pods: its selector names
        only labels they carry, egressGateway.selector's or those Istio's installers put on
        every gateway pod (egress_pods.may_pick_egress_pods), so its servers open egress.
        """
        egress = self.policy.policy.egress_gateway.selector
        names = {ref.name for ref in self.policy.egress_gateway_refs}
        return may_pick_egress_pods(self.spec.selector or {}, egress, names)

    def server_hosts(self, index: int) -> list[ServerHost]:
        """The hosts of `servers[index]`, split as Istio reads them."""
        return [server_host(h, self.namespace) for h in self.spec.servers[index].hosts]
