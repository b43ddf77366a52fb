"""The object under evaluation, parsed once and shared by every rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel

from webhook.policy.index import CompiledPolicy
from webhook.policy.model import AllowlistEntry
from webhook.policy.names import is_in_cluster, resolve_service_host
from webhook.policy.routes import Leg, legs_of
from webhook.resources.base import ObjectMeta
from webhook.resources.service_entry import ServiceEntrySpec
from webhook.resources.virtual_service import VirtualServiceSpec

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Subject(Generic[SpecT]):
    """What every rule sees: the parsed object, where it lives, and the policy it answers to.

    A kind whose rules need more than the spec (derived once, shared by its rules)
    subclasses this and overrides `build`; scope questions are methods rules ask.
    """

    kind: str
    namespace: str
    name: str
    metadata: ObjectMeta
    policy: CompiledPolicy
    spec: SpecT
    # Answers about one host are asked by several rules and once per route target;
    # they are computed once per evaluation.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        *,
        kind: str,
        namespace: str,
        name: str,
        metadata: ObjectMeta,
        policy: CompiledPolicy,
        spec: SpecT,
    ) -> Self:
        """The subject of one parsed object; subclasses add what their rules share."""
        return cls(
            kind=kind, namespace=namespace, name=name, metadata=metadata, policy=policy, spec=spec
        )

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
        """True when a resolved name lies outside the cluster domain.

        Asked once per leg and rule of a VirtualService about the same few hosts, so
        remembered (keyed by the bare name: every other memo key is a tuple).
        """
        answer: bool | None = self.memo.get(fqdn)
        if answer is None:
            answer = self.memo[fqdn] = not is_in_cluster(fqdn, self.policy.cluster_domain)
        return answer

    def allowed_summary(self, limit: int = 8) -> str:
        """``allowed: a, b, c`` for this namespace, or a hint when nothing is."""
        hosts = self.policy.allowed_hosts(self.namespace, limit)
        if not hosts:
            return f'nothing is allowlisted for namespace "{self.namespace}"'
        shown = ", ".join(hosts)
        count = self.policy.allowed_count(self.namespace)
        more = f" and {count - limit} more" if count > limit else ""
        return f"allowed: {shown}{more}"

    @property
    def export_to(self) -> list[str] | None:
        """The namespaces the object is visible to as written (None: the kind's default)."""
        return None

    @property
    def export_field(self) -> str:
        """The path of the field `export_to` reads, for messages."""
        return "spec.exportTo"

    def exported_hosts(self) -> Sequence[str]:
        """Lower-case hosts the object makes usable in every namespace it is exported to."""
        return ()


@dataclass(frozen=True, slots=True)
class ServiceEntrySubject(Subject[ServiceEntrySpec]):
    """A ServiceEntry under evaluation."""

    @property
    def export_to(self) -> list[str] | None:
        """ServiceEntry.exportTo (default: every namespace)."""
        return self.spec.export_to

    def exported_hosts(self) -> Sequence[str]:
        """The hosts the entry registers."""
        return [h.lower() for h in self.spec.hosts]


@dataclass(frozen=True, slots=True)
class VirtualServiceSubject(Subject[VirtualServiceSpec]):
    """A VirtualService under evaluation, with its routes flattened into legs once."""

    legs: tuple[Leg, ...] = ()

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
    ) -> Self:
        """Parse the routes into legs (the only per-object work every VS rule shares)."""
        return cls(
            kind=kind,
            namespace=namespace,
            name=name,
            metadata=metadata,
            policy=policy,
            spec=spec,
            legs=legs_of(
                spec, namespace, policy.cluster_domain, egress_gateway=policy.egress_gateway_service
            ),
        )

    @property
    def export_to(self) -> list[str] | None:
        """VirtualService.exportTo (default: every namespace)."""
        return self.spec.export_to

    def exported_hosts(self) -> Sequence[str]:
        """The hosts the legs carry traffic for, and every host they send it to."""
        hosts = [h for leg in self.legs for h in leg.hosts]
        return hosts + [t.host for leg in self.legs for t in leg.targets]

    def routes_inward(self, leg: Leg) -> bool:
        """True when a sidecar leg keeps its traffic in the cluster.

        Every target is an in-cluster name other than the egress gateway, and nothing is
        delegated out of view (a redirect or direct response has no target at all). An
        ingress VirtualService that also binds ``mesh`` routes its public name this way.
        """
        return leg.inward

    def reaches_egress_gateway(self, leg: Leg) -> bool:
        """True when a route or mirror of the leg sends to the egress gateway Service."""
        return leg.reaches_egress_gateway

    def captured_gateway_names(self, host: str) -> tuple[str, ...]:
        """Allowlisted hosts (of any namespace) whose mesh traffic a VirtualService for
        `host` captures and which must use the egress gateway (a few, for messages).

        A sidecar applies every visible VirtualService one of whose hosts *matches* a
        service's host, both ways (host.Name.Matches in pilot/pkg/networking/core/
        httproute.go selectVirtualServices, and hostClassification.VSMatches in
        pilot/pkg/model/sidecar.go), and binds each service to its most specific match
        (computeWildcardHostVirtualServiceIndex): ``*.com`` takes ``api.github.com``
        wherever no narrower VirtualService names it. Overlap, not containment, decides.
        """
        key = ("captured", host)
        names: tuple[str, ...] | None = self.memo.get(key)
        if names is None:
            names = self.memo[key] = self.policy.gateway_names_overlapping(host)
        return names
