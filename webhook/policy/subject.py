"""The object under evaluation, parsed once and shared by every rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webhook.policy.index import CompiledPolicy
from webhook.policy.model import AllowlistEntry
from webhook.policy.names import is_in_cluster, resolve_service_host
from webhook.policy.routes import Leg, legs_of
from webhook.resources.base import ObjectMeta
from webhook.resources.service_entry import ServiceEntrySpec
from webhook.resources.virtual_service import VirtualServiceSpec


@dataclass(frozen=True, slots=True)
class Subject:
    """What every rule sees: where the object lives and the policy it answers to."""

    kind: str
    namespace: str
    name: str
    metadata: ObjectMeta
    policy: CompiledPolicy
    # Answers about one host are asked by several rules and once per route target;
    # they are computed once per evaluation.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def entries(self, host: str) -> tuple[AllowlistEntry, ...]:
        """The allowlist entries containing the lower-case `host` this namespace may use."""
        key = ("entries", host)
        found: tuple[AllowlistEntry, ...] | None = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self.policy.entries_in(host, self.namespace)
        return found

    def resolve(self, host: str) -> str:
        """`host` as Istio reads it from this object's namespace."""
        return resolve_service_host(host, self.namespace, self.policy.cluster_domain)

    def is_external(self, fqdn: str) -> bool:
        """True when a resolved name lies outside the cluster domain."""
        return not is_in_cluster(fqdn, self.policy.cluster_domain)

    def allowed_summary(self, limit: int = 8) -> str:
        """``allowed: a, b, c`` for this namespace, or a hint when nothing is."""
        hosts = self.policy.allowed_hosts(self.namespace)
        if not hosts:
            return f'nothing is allowlisted for namespace "{self.namespace}"'
        shown = ", ".join(hosts[:limit])
        more = f" and {len(hosts) - limit} more" if len(hosts) > limit else ""
        return f"allowed: {shown}{more}"


@dataclass(frozen=True, slots=True)
class ServiceEntrySubject(Subject):
    """A ServiceEntry under evaluation."""

    spec: ServiceEntrySpec = field(default_factory=ServiceEntrySpec)


@dataclass(frozen=True, slots=True)
class VirtualServiceSubject(Subject):
    """A VirtualService under evaluation, with its routes flattened into legs once."""

    spec: VirtualServiceSpec = field(default_factory=VirtualServiceSpec)
    legs: tuple[Leg, ...] = ()

    def routes_inward(self, leg: Leg) -> bool:
        """True when a sidecar leg keeps its traffic in the cluster.

        Every target is an in-cluster name other than the egress gateway, and nothing is
        delegated out of view (a redirect or direct response has no target at all). An
        ingress VirtualService that also binds ``mesh`` routes its public name this way.
        """
        gateway = self.policy.egress_gateway_service
        return leg.delegate_field is None and all(
            not t.external and t.host != gateway for t in leg.targets
        )

    def is_egress_destination(self, host: str) -> bool:
        """True when some allowlist entry (of any namespace) contains `host`.

        Such a name is a real way out, so sidecar traffic for it may only go to the
        egress gateway; a name nobody may reach outside can be routed inward.
        """
        return bool(self.policy.entries_for(host))

    @classmethod
    def build(
        cls,
        *,
        kind: str,
        namespace: str,
        name: str,
        metadata: ObjectMeta,
        policy: CompiledPolicy,
        spec: VirtualServiceSpec,
    ) -> VirtualServiceSubject:
        """Parse the routes into legs (the only per-object work every VS rule shares)."""
        return cls(
            kind=kind,
            namespace=namespace,
            name=name,
            metadata=metadata,
            policy=policy,
            spec=spec,
            legs=legs_of(spec, namespace, policy.cluster_domain),
        )
