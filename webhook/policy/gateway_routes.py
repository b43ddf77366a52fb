"""Gateway API routes read as Istio reads them: parents, backends, mirrors and Host rewrites.

Istio turns every route into VirtualServices (pilot/pkg/config/kube/gateway,
route_collections.go and conversion.go in 1.28). A parent is a `Gateway` (the route
applies at that gateway's deployment) or, GAMMA style, a `Service` or `ServiceEntry`
(the route applies at sidecars, for that parent's hosts: toInternalParentReference).
A backend becomes a destination host in buildDestination: a core `Service` is
``<name>.<namespace>.svc.<domain>``, a ``networking.istio.io`` ``Hostname`` is its name
taken literally (any registry host, e.g. an external ServiceEntry's), a ServiceImport or
InferencePool is in the cluster, and any other kind is one the webhook cannot place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from webhook.policy.index import CompiledPolicy
from webhook.policy.names import is_in_cluster
from webhook.policy.routes import (
    AUTHORITY_HEADERS,
    AuthorityRewrite,
    prefix_rewrite_authority,
    regex_rewrite_authority,
)
from webhook.policy.subject import Subject
from webhook.resources.base import ObjectMeta
from webhook.resources.gateway_route import (
    GATEWAY_API_GROUP,
    BackendObjectRef,
    Filter,
    HTTPBackendRef,
    HTTPRouteRule,
    ParentRef,
    RouteSpec,
)

ISTIO_GROUP = "networking.istio.io"

#: The parent kinds that make a route a sidecar (mesh) route, by (group, kind).
MESH_PARENTS = {("", "Service"): "Service", (ISTIO_GROUP, "ServiceEntry"): "ServiceEntry"}

#: Backend kinds Istio routes to inside the cluster (besides a core Service).
IN_CLUSTER_BACKENDS = frozenset(
    {("multicluster.x-k8s.io", "ServiceImport"), ("inference.networking.k8s.io", "InferencePool")}
)

#: The suffix Istio's deployment controller gives a Gateway's Service: ``<name>-<class>``
#: (getDefaultName), for the ``istio`` GatewayClass.
GATEWAY_SERVICE_SUFFIX = "-istio"


@dataclass(frozen=True, slots=True)
class Parent:
    """One place the route attaches."""

    field: str
    #: ``mesh``: a Service/ServiceEntry parent; ``gateway``: a Gateway; ``elsewhere``:
    #: a ListenerSet, the default Gateways or an unknown kind, whose Gateway is out of view.
    scope: Literal["mesh", "gateway", "elsewhere"]
    kind: str
    ref: str
    #: A Service parent's FQDN (the host its route carries traffic for); None otherwise.
    host: str | None

    @property
    def described(self) -> str:
        """``ServiceEntry "ns/name"`` for messages."""
        return f'{self.kind} "{self.ref}"' if self.ref else self.kind


@dataclass(frozen=True, slots=True)
class Backend:
    """A place a rule sends bytes to: a backendRef, a mirror, or an external-auth service."""

    field: str
    #: ``service`` (or another in-cluster kind), ``hostname``, or ``unknown``.
    kind: Literal["service", "hostname", "unknown"]
    raw: str
    host: str
    port: int | None
    #: A copy or side request (RequestMirror, ExternalAuth), not the route's answer.
    mirror: bool
    external: bool


@dataclass(frozen=True, slots=True)
class Rule:
    """One route rule: its backends and the Host rewrites they carry."""

    field: str
    backends: tuple[Backend, ...]
    authority_rewrites: tuple[AuthorityRewrite, ...]


def parents_of(spec: RouteSpec, namespace: str, cluster_domain: str) -> tuple[Parent, ...]:
    """Every parent, with namespaces defaulted to the route's as Istio does.

    ``useDefaultGateways: All`` (GEP-3793, experimental) attaches the route to Gateways
    that are out of view, like a ListenerSet parent (whose Gateway is out of view too).
    """
    parents = [
        _parent(ref, f"spec.parentRefs[{i}]", namespace, cluster_domain)
        for i, ref in enumerate(spec.parent_refs)
    ]
    if spec.use_default_gateways == "All":
        parents.append(
            Parent("spec.useDefaultGateways", "elsewhere", "the default Gateways", "", None)
        )
    return tuple(parents)


def _parent(ref: ParentRef, field: str, namespace: str, cluster_domain: str) -> Parent:
    ns = ref.namespace or namespace
    name = f"{ns}/{ref.name}"
    mesh_kind = MESH_PARENTS.get((ref.group, ref.kind))
    if mesh_kind == "Service":
        host = f"{ref.name}.{ns}.svc.{cluster_domain}".lower()
        return Parent(field, "mesh", mesh_kind, name, host)
    if mesh_kind is not None:
        return Parent(field, "mesh", mesh_kind, name, None)
    if (ref.group, ref.kind) == (GATEWAY_API_GROUP, "Gateway"):
        return Parent(field, "gateway", "Gateway", name.lower(), None)
    kind = ref.kind if ref.group in (GATEWAY_API_GROUP, "") else f"{ref.group}/{ref.kind}"
    return Parent(field, "elsewhere", kind, name, None)


def rules_of(spec: RouteSpec, namespace: str, cluster_domain: str) -> tuple[Rule, ...]:
    """Every rule's backends (including mirrors and external-auth services) and rewrites."""
    rules = []
    for i, rule in enumerate(spec.route_rules):
        path = f"spec.rules[{i}]"
        backends: list[Backend] = []
        rewrites: list[AuthorityRewrite] = []
        filters = rule.filters if isinstance(rule, HTTPRouteRule) else []
        _read_filters(filters, f"{path}.filters", namespace, cluster_domain, backends, rewrites)
        for j, ref in enumerate(rule.backend_refs):
            field = f"{path}.backendRefs[{j}]"
            backends.append(_backend(ref, field, namespace, cluster_domain, mirror=False))
            if isinstance(ref, HTTPBackendRef):
                _read_filters(
                    ref.filters, f"{field}.filters", namespace, cluster_domain, backends, rewrites
                )
        rules.append(Rule(path, tuple(backends), tuple(rewrites)))
    return tuple(rules)


def _read_filters(
    filters: Sequence[Filter],
    path: str,
    namespace: str,
    cluster_domain: str,
    backends: list[Backend],
    rewrites: list[AuthorityRewrite],
) -> None:
    for k, f in enumerate(filters):
        field = f"{path}[{k}]"
        if f.request_mirror is not None:
            ref = f.request_mirror.backend_ref
            backends.append(
                _backend(ref, f"{field}.requestMirror.backendRef", namespace, cluster_domain, True)
            )
        if f.external_auth is not None:
            ref = f.external_auth.backend_ref
            backends.append(
                _backend(ref, f"{field}.externalAuth.backendRef", namespace, cluster_domain, True)
            )
        if f.url_rewrite is not None and f.url_rewrite.hostname:
            rewrites.append(
                AuthorityRewrite(f"{field}.urlRewrite.hostname", f.url_rewrite.hostname)
            )
        rewrites.extend(_path_rewrites(f, field))
        rewrites.extend(_header_rewrites(f, field))


def _path_rewrites(f: Filter, field: str) -> Iterator[AuthorityRewrite]:
    """A URLRewrite path that does not keep a leading ``/``: an authority rewrite.

    createRewriteFilter (conversion.go) turns ``ReplacePrefixMatch`` into rewrite.uri (one
    trailing ``/`` trimmed, an empty result made ``/``) and ``ReplaceFullPath`` into
    uriRegexRewrite ``{match: "/.*", rewrite: <value>}``; the CRD requires neither to start
    with ``/`` (HTTPPathModifier only caps the length). The rewritten path then goes out in
    absolute form and picks the host the next proxy serves, as a VirtualService's URI
    rewrite does (routes.py _path_authority_rewrites).
    """
    path = f.url_rewrite.path if f.url_rewrite is not None else None
    if not isinstance(path, dict):
        return
    prefix, full = path.get("replacePrefixMatch"), path.get("replaceFullPath")
    if isinstance(prefix, str):
        authority = prefix_rewrite_authority(prefix.removesuffix("/") or "/")
        if authority is not None:
            yield AuthorityRewrite(f"{field}.urlRewrite.path.replacePrefixMatch", authority)
    if isinstance(full, str):
        authority = regex_rewrite_authority("/.*", full)
        if authority is not None:
            yield AuthorityRewrite(f"{field}.urlRewrite.path.replaceFullPath", authority)


def _header_rewrites(f: Filter, field: str) -> Iterator[AuthorityRewrite]:
    modifier = f.request_header_modifier
    if modifier is None:
        return
    for verb, headers in (("set", modifier.set), ("add", modifier.add)):
        for n, header in enumerate(headers):
            if header.name.lower() in AUTHORITY_HEADERS:
                path = f"{field}.requestHeaderModifier.{verb}[{n}].value"
                yield AuthorityRewrite(path, header.value)


def _backend(
    ref: BackendObjectRef, field: str, namespace: str, cluster_domain: str, mirror: bool
) -> Backend:
    ns = ref.namespace or namespace
    group_kind = (ref.group, ref.kind)
    if group_kind == ("", "Service") or group_kind in IN_CLUSTER_BACKENDS:
        host = f"{ref.name}.{ns}.svc.{cluster_domain}".lower()
        return Backend(f"{field}.name", "service", ref.name, host, ref.port, mirror, False)
    if group_kind == (ISTIO_GROUP, "Hostname"):
        host = ref.name.lower()
        external = not is_in_cluster(host, cluster_domain)
        return Backend(f"{field}.name", "hostname", ref.name, host, ref.port, mirror, external)
    raw = f"{ref.group}/{ref.kind} {ref.name}" if ref.group else f"{ref.kind} {ref.name}"
    return Backend(f"{field}.kind", "unknown", raw, "", ref.port, mirror, True)


def egress_gateway_services(policy: CompiledPolicy) -> frozenset[str]:
    """The Services mesh routes may send external traffic to.

    egressGateway.service, and for every approved gateway ``ns/name`` the Service Istio
    deploys for a Gateway API Gateway of that name with the ``istio`` class,
    ``<name>-istio.<ns>.svc.<domain>`` (the egress gateway task's Gateway API tab).
    """
    domain = policy.cluster_domain
    return frozenset(
        {
            policy.egress_gateway_service,
            *(
                f"{ref.name}{GATEWAY_SERVICE_SUFFIX}.{ref.namespace}.svc.{domain}"
                for ref in policy.egress_gateway_refs
            ),
        }
    )


@dataclass(frozen=True, slots=True)
class GatewayRouteSubject(Subject[RouteSpec]):
    """A Gateway API route under evaluation, with its parents and rules read once."""

    parents: tuple[Parent, ...] = ()
    rules: tuple[Rule, ...] = ()

    @classmethod
    def derived(
        cls, spec: RouteSpec, metadata: ObjectMeta, namespace: str, policy: CompiledPolicy
    ) -> dict[str, Any]:
        """Resolve parents and backends (the per-object work every route rule shares)."""
        return {
            "parents": parents_of(spec, namespace, policy.cluster_domain),
            "rules": rules_of(spec, namespace, policy.cluster_domain),
        }

    def gateway_services(self) -> frozenset[str]:
        """egress_gateway_services of the subject's policy."""
        return egress_gateway_services(self.policy)

    def is_egress_gateway(self, parent: Parent) -> bool:
        """True for a Gateway parent that egressGateway.gateways approves."""
        return parent.scope == "gateway" and parent.ref in {
            str(ref) for ref in self.policy.egress_gateway_refs
        }
