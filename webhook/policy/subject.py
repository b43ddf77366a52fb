"""The object under evaluation, parsed once and shared by every rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel

from webhook.policy.egress_pods import may_pick_egress_pods
from webhook.policy.index import CompiledPolicy
from webhook.policy.mesh_workloads import names_local_sockets, names_mesh_workloads
from webhook.policy.model import AllowlistEntry
from webhook.policy.names import is_in_cluster, resolve_service_host
from webhook.policy.routes import Leg, legs_of
from webhook.policy.view import MeshView, Object
from webhook.resources.base import ObjectMeta
from webhook.resources.service_entry import ServiceEntrySpec
from webhook.resources.virtual_service import VirtualServiceSpec

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Subject(Generic[SpecT]):
    """What every rule sees: the parsed object, where it lives, and the policy it answers to.

    A kind whose rules need more than the spec (derived once, shared by its rules)
    subclasses this, declares the fields and computes them in `derived`; scope questions
    are methods rules ask.
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
    #: The live mesh, when a front end has one (None: the object is judged alone).
    view: MeshView | None = field(default=None, repr=False, compare=False)
    #: The admission operation (CREATE, UPDATE, DELETE; DELETE evaluates the old object).
    operation: str = "CREATE"
    #: The object before an UPDATE, as the API server sent it.
    old_object: Object | None = field(default=None, repr=False, compare=False)

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
        view: MeshView | None = None,
        operation: str = "CREATE",
        old_object: Object | None = None,
    ) -> Self:
        """The subject of one parsed object, with what `derived` computes from it."""
        return cls(
            kind=kind,
            namespace=namespace,
            name=name,
            metadata=metadata,
            policy=policy,
            spec=spec,
            view=view,
            operation=operation,
            old_object=old_object,
            **cls.derived(spec, metadata, namespace, policy),
        )

    @classmethod
    def derived(
        cls, spec: SpecT, metadata: ObjectMeta, namespace: str, policy: CompiledPolicy
    ) -> dict[str, Any]:
        """The fields a subclass computes once from the parsed spec (none here)."""
        return {}

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

    def applies_within(self) -> frozenset[str] | None:
        """Namespaces outside which the object acts on nothing, whatever its exportTo (None:
        exportTo alone decides)."""
        return None


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

    @property
    def names_mesh_workloads(self) -> bool:
        """True when the entry only names its namespace's mesh workloads (webhook/policy/
        mesh_workloads.py): its hosts are then no egress, and its endpoints are judged as
        the WorkloadEntries they are."""
        key = ("names_mesh_workloads",)
        if key not in self.memo:
            spec = self.spec
            self.memo[key] = names_mesh_workloads(
                spec.hosts,
                location=spec.location,
                resolution=spec.effective_resolution,
                selects_workloads=spec.workload_selector is not None,
                lists_endpoints=bool(spec.endpoints or spec.addresses),
                policy=self.policy,
            )
        return bool(self.memo[key])

    @property
    def names_local_sockets(self) -> bool:
        """True when the entry's endpoints are all unix sockets in the caller's own pod
        (webhook/policy/mesh_workloads.py): its hosts are then no egress."""
        key = ("names_local_sockets",)
        if key not in self.memo:
            spec = self.spec
            self.memo[key] = names_local_sockets(
                spec.hosts,
                resolution=spec.effective_resolution,
                selects_workloads=spec.workload_selector is not None,
                has_addresses=bool(spec.addresses),
                endpoints=[(e.address or "", e.network or "") for e in spec.endpoints],
                policy=self.policy,
            )
        return bool(self.memo[key])


@dataclass(frozen=True, slots=True)
class VirtualServiceSubject(Subject[VirtualServiceSpec]):
    """A VirtualService under evaluation, with its routes flattened into legs once."""

    legs: tuple[Leg, ...] = ()

    @classmethod
    def derived(
        cls, spec: VirtualServiceSpec, metadata: ObjectMeta, namespace: str, policy: CompiledPolicy
    ) -> dict[str, Any]:
        """Parse the routes into legs (the only per-object work every VS rule shares)."""
        return {
            "legs": legs_of(
                spec, namespace, policy.cluster_domain, egress_gateway=policy.egress_gateway_service
            )
        }

    @property
    def export_to(self) -> list[str] | None:
        """VirtualService.exportTo (default: every namespace)."""
        return self.spec.export_to

    def exported_hosts(self) -> Sequence[str]:
        """The hosts the legs carry traffic for, and every host they send it to (each once:
        hundreds of legs share a few host lists and destinations)."""
        hosts = {h for hosts in {leg.hosts for leg in self.legs} for h in hosts}
        hosts.update(t.host for leg in self.legs for t in leg.targets)
        return sorted(hosts)

    def is_egress_gateway(self, ref: str) -> bool:
        """True when the Gateway ``namespace/name`` serves at the egress gateway pods.

        Listed in egressGateway.gateways, or (with a cluster view) a live Gateway whose
        non-empty selector picks pods labelled egressGateway.selector, as Istio binds a
        Gateway to every workload its selector matches (networking/v1 Gateway.selector).
        """
        if ref in self.policy.egress_gateway_ref_names:
            return True
        if self.view is None or "/" not in ref:
            return False
        namespace, _, name = ref.partition("/")
        gateway = self.view.gateway(namespace, name)
        spec = gateway.get("spec") if gateway is not None else None
        selector = spec.get("selector") if isinstance(spec, dict) else None
        pods = self.policy.policy.egress_gateway.selector
        return (
            isinstance(selector, dict)
            and bool(selector)
            and all(pods.get(k) == v for k, v in selector.items())
        )

    def may_serve_at_egress_pods(self, ref: str) -> bool:
        """True when routes bound to the Gateway ``namespace/name`` may be served by the
        egress gateway pods: an egress gateway, or (with a cluster view) a live Gateway
        whose selector names only labels those pods carry, egressGateway.selector's or the
        ones Istio installs on every gateway pod, or none (egress_pods.may_pick_egress_pods;
        PushContext.mergeGateways binds it there).
        """
        if self.is_egress_gateway(ref):
            return True
        if self.view is None or "/" not in ref:
            return False
        namespace, _, name = ref.partition("/")
        gateway = self.view.gateway(namespace, name)
        if gateway is None:
            return False
        spec = gateway.get("spec")
        selector = spec.get("selector") if isinstance(spec, dict) else None
        if not isinstance(selector, dict):
            selector = {}
        pods = self.policy.policy.egress_gateway.selector
        return all(isinstance(v, str) for v in selector.values()) and may_pick_egress_pods(
            selector, pods
        )

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
