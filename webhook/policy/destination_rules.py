"""A DestinationRule under evaluation: every place a traffic policy can sit, flattened once.

Istio reads a TrafficPolicy at the top level and in each subset
(`util.MergeSubsetTrafficPolicy`), and a PortTrafficPolicy in each one's
`portLevelSettings`; `tunnel` exists only on a TrafficPolicy
(`tunnelingconfig.Apply` reads `trafficPolicy.tunnel` or `subsets[].trafficPolicy.tunnel`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from webhook.policy.index import CompiledPolicy
from webhook.policy.subject import Subject
from webhook.resources.base import ObjectMeta
from webhook.resources.destination_rule import (
    ClientTLSSettings,
    DestinationRuleSpec,
    LoadBalancerSettings,
    TrafficPolicy,
    TunnelSettings,
)


@dataclass(frozen=True, slots=True)
class PolicySite:
    """One traffic policy (top level, port level or a subset's) and the path it sits at."""

    field: str
    tls: ClientTLSSettings | None
    load_balancer: LoadBalancerSettings | None
    tunnel: TunnelSettings | None = None


def policy_sites(spec: DestinationRuleSpec) -> tuple[PolicySite, ...]:
    """Every traffic policy of the rule, with its field path, in document order."""
    sites: list[PolicySite] = []
    if spec.traffic_policy is not None:
        sites.extend(_sites_of(spec.traffic_policy, "spec.trafficPolicy"))
    for k, subset in enumerate(spec.subsets):
        if subset.traffic_policy is not None:
            sites.extend(_sites_of(subset.traffic_policy, f"spec.subsets[{k}].trafficPolicy"))
    return tuple(sites)


def _sites_of(policy: TrafficPolicy, field: str) -> Iterator[PolicySite]:
    yield PolicySite(field, policy.tls, policy.load_balancer, policy.tunnel)
    for k, port in enumerate(policy.port_level_settings):
        yield PolicySite(f"{field}.portLevelSettings[{k}]", port.tls, port.load_balancer)


@dataclass(frozen=True, slots=True)
class DestinationRuleSubject(Subject[DestinationRuleSpec]):
    """A DestinationRule under evaluation, with its traffic policies flattened."""

    sites: tuple[PolicySite, ...] = ()

    @classmethod
    def derived(
        cls, spec: DestinationRuleSpec, metadata: ObjectMeta, namespace: str, policy: CompiledPolicy
    ) -> dict[str, Any]:
        """Flatten the traffic policies once; every DestinationRule rule walks them."""
        return {"sites": policy_sites(spec)}

    @property
    def export_to(self) -> list[str] | None:
        """DestinationRule.exportTo; a rule with a workloadSelector is never exported.

        `PushContext.setDestinationRules` forces the exportTo of a rule with a
        workloadSelector to "." whatever it says.
        """
        if self.spec.workload_selector is not None:
            return ["."]
        return self.spec.export_to

    def applies_within(self) -> frozenset[str] | None:
        """For an exact external host that every allowlist entry restricts to some
        namespaces: those namespaces, this one and the egress gateway's.

        Istio picks a rule for a service by the service's hostname, from the client's own
        namespace, then the service's, then the root namespace (`PushContext.destinationRule`
        in pilot/pkg/model/push_context.go), so wherever an exported rule for an exact
        host applies, it applies to a ServiceEntry for that very host. Such entries are
        declared only where the allowlist gives the host, and export-scope keeps each
        within the namespaces its entries allow and the egress gateway's: so is the rule,
        whatever its own exportTo. (A wildcard host, or an unrestricted one, reaches the
        services of hosts the allowlist gives every namespace.)
        """
        host = self.resolve(self.spec.host)
        if not host or host.startswith("*") or not self.is_external(host):
            return None
        found = self.policy.entries_for(host)
        if not found or any(e.namespaces is None for e in found):
            return None
        namespaces = {ns for e in found for ns in e.namespaces or ()}
        return frozenset({self.namespace, *namespaces, *self.policy.egress_gateway_namespaces})

    def exported_hosts(self) -> Sequence[str]:
        """The external names the rule applies to or sends: its host, SNI and tunnel targets.

        An exported rule applies, in other namespaces, to the services of its own
        namespace (`PushContext.destinationRule` step 2), presenting its SNI and opening
        its tunnels there.
        """
        hosts = []
        host = self.resolve(self.spec.host)
        if host and self.is_external(host):
            hosts.append(host)
        for site in self.sites:
            if site.tls is not None and site.tls.sni and site.tls.originates_tls:
                hosts.append(site.tls.sni.lower())
            if site.tunnel is not None and site.tunnel.target_host:
                hosts.append(site.tunnel.target_host.lower())
        return hosts
