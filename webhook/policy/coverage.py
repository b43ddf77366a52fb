"""Egress gateway coverage: does some VirtualService send a host's mesh traffic to the gateway?

Shared by the two coverage rules (a ServiceEntry must be covered when it is admitted; a
VirtualService change must not uncover a live one). Istio sends a sidecar's traffic for
a ServiceEntry host straight out unless a VirtualService bound to ``mesh`` and visible
to the client's namespace routes it elsewhere (pilot/pkg/networking/core: the
VirtualService for a host wins over the ServiceEntry's passthrough cluster).

Which routes count depends on the port's protocol, as the sidecar's listener for it reads
them (ModelProtocolToListenerProtocol, pilot/pkg/networking/networking.go): an HTTP port
takes only `http` routes (BuildSidecarOutboundVirtualHosts); a TLS or HTTPS port only
`tls` routes, and without a TLS match its filter chain goes straight to the host
(buildSidecarOutboundTLSFilterChainOpts, pilot/pkg/networking/core/tls.go); any other
declared port only `tcp` routes (buildSidecarOutboundTCPFilterChainOpts); an undeclared
one is sniffed, HTTP to the `http` routes and the rest to the `tcp` ones, so it needs
both. A match gated by `sourceLabels` or `sourceNamespace` (matchTLS, matchTCP,
sourceMatchHTTP) or, on TCP, by `destinationSubnets` leaves the other clients or
addresses on the direct route, and on TCP and TLS ports the VirtualService is chosen with
the case-sensitive host.Name.Matches (getConfigsForHost): neither covers.

Coverage is owed in every namespace the ServiceEntry is exported to, not only its own:
a sidecar gets the entry's cluster and listener wherever `IsServiceVisible`
(pilot/pkg/model/push_context.go) says the service is visible, and picks its
VirtualServices by its own namespace (SelectVirtualServices, virtualservice.go), so an
entry exported everywhere with a VirtualService exported only to its own namespace goes
straight out from every other namespace.

A Sidecar narrows what its pods import: `convertIstioListenerToWrapper`
(pilot/pkg/model/sidecar.go) picks the services (`selectServices`) and the VirtualServices
(`SelectVirtualServices`) by the namespace each lives in, so ``hosts: ["./*"]`` imports a
ServiceEntry of its own namespace and leaves out the VirtualService of another namespace
that sent it to the egress gateway: the pods it applies to go straight out. So in each
namespace, coverage is judged once per Sidecar there that imports the entry (and once for
the pods no namespace-wide Sidecar takes), counting only what that Sidecar imports; see
`SidecarScope`.

A Gateway API route whose parentRef names the ServiceEntry (GAMMA) counts too, as the
VirtualService Istio makes of it (route_collections.go HTTPRouteCollection and
TLSRouteCollection: one VirtualService per entry host, in the route's namespace, bound to
``mesh``, the parentRef's port added to every match by augmentPortMatch); see
`route_covers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from webhook.policy.gateway_routes import egress_gateway_services, rules_of
from webhook.policy.hosts import host_within, hosts_overlap, wildcard_suffix
from webhook.policy.index import CompiledPolicy
from webhook.policy.mesh_workloads import names_local_sockets, names_mesh_workloads
from webhook.policy.names import resolve_service_host
from webhook.policy.routes import Leg, legs_of
from webhook.policy.view import (
    SERVICE_ENTRY_PARENT,
    EgressImports,
    MeshView,
    Object,
    egress_imports,
    export_to,
    meta,
    spec_hosts,
    visible_to,
)
from webhook.resources.gateway_route import HTTPRouteSpec, RouteSpec, TCPRouteSpec, TLSRouteSpec
from webhook.resources.virtual_service import L4Match, VirtualServiceSpec

#: Protocols whose egress route is an sniHosts-matched TLS route.
_TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
_HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})
#: Declared protocols whose listener is plain TCP (no sniffing).
_TCP_PROTOCOLS = frozenset({"TCP", "MONGO", "REDIS", "MYSQL", "UDP"})

RouteKind = Literal["http", "tls", "tcp"]
Resolve = Callable[[str], str]
#: One Sidecar egress listener's `hosts`, by namespace (`egress_imports`).
Listener = dict[str, EgressImports]

#: Where a leg's match sits in the VirtualService (Leg.field).
_LEG_FIELD = re.compile(r"spec\.(http|tls|tcp)\[(\d+)\](?:\.match\[(\d+)\])?")


#: The Gateway API route kinds Istio turns into each kind of VirtualService route
#: (HTTPRoute and GRPCRoute into `http`, TLSRoute into `tls`, TCPRoute into `tcp`), with
#: the spec model each is read with.
GATEWAY_API_ROUTES: dict[RouteKind, tuple[tuple[str, type[RouteSpec]], ...]] = {
    "http": (("HTTPRoute", HTTPRouteSpec), ("GRPCRoute", HTTPRouteSpec)),
    "tls": (("TLSRoute", TLSRouteSpec),),
    "tcp": (("TCPRoute", TCPRouteSpec),),
}
#: Every Gateway API route kind that can cover a ServiceEntry.
_ROUTE_MODELS = {k: model for kinds in GATEWAY_API_ROUTES.values() for k, model in kinds}


def route_kinds(protocol: str) -> tuple[RouteKind, ...]:
    """The route kinds that must each send a port of `protocol` ("" when undeclared) to
    the egress gateway: the ones its sidecar listener reads."""
    if protocol in _TLS_PROTOCOLS:
        return ("tls",)
    if protocol in _HTTP_PROTOCOLS:
        return ("http",)
    if protocol in _TCP_PROTOCOLS:
        return ("tcp",)
    return ("http", "tcp")  # undeclared or unknown: sniffed (ListenerProtocolAuto)


@dataclass(frozen=True, slots=True)
class GuardedPort:
    """One host and port of a ServiceEntry whose mesh traffic must use the egress gateway."""

    host: str
    port: int
    #: The declared protocol, upper-cased as Istio parses it; "" when undeclared.
    protocol: str


def guarded_ports(entry: Object, policy: CompiledPolicy) -> list[GuardedPort]:
    """The (host, port) pairs of a ServiceEntry that the egress gateway must carry."""
    spec = entry.get("spec")
    ports = spec.get("ports") if isinstance(spec, dict) else None
    numbered = [
        (p["number"], str(p.get("protocol") or "").upper())
        for p in ports or ()
        if isinstance(p, dict) and isinstance(p.get("number"), int)
    ]
    suffix = "." + policy.cluster_domain
    hosts = spec_hosts(entry)
    if isinstance(spec, dict) and names_mesh_workloads(
        hosts,
        location=spec.get("location"),
        resolution=spec.get("resolution") or "NONE",
        selects_workloads=spec.get("workloadSelector") is not None,
        lists_endpoints=bool(spec.get("endpoints") or spec.get("addresses")),
        policy=policy,
    ):
        return []  # names its namespace's mesh workloads: nothing leaves
    endpoints = spec.get("endpoints") if isinstance(spec, dict) else None
    if isinstance(spec, dict) and names_local_sockets(
        hosts,
        resolution=spec.get("resolution") or "NONE",
        selects_workloads=spec.get("workloadSelector") is not None,
        has_addresses=bool(spec.get("addresses")),
        endpoints=[
            (str(e.get("address") or ""), str(e.get("network") or ""))
            for e in endpoints
            if isinstance(e, dict)
        ]
        if isinstance(endpoints, list) and all(isinstance(e, dict) for e in endpoints)
        else [],
        policy=policy,
    ):
        return []  # sockets in the caller's own pod: nothing leaves
    return [
        GuardedPort(host, number, protocol)
        for host in hosts
        if not host.endswith(suffix) and policy.requires_gateway(host)
        for number, protocol in numbered
    ]


def covers(vs: Object, host: str, port: int, policy: CompiledPolicy, kind: RouteKind) -> bool:
    """True when the VirtualService sends all sidecar traffic for `host`:`port` that its
    `kind` routes carry to the gateway.

    Some `kind` leg bound to ``mesh`` whose hosts contain `host`, matching that port (or
    every port) and every client, forwards only to the egress gateway Service: no other
    destination, no mirror, no delegate.
    """
    namespace, _ = meta(vs)
    try:
        spec = VirtualServiceSpec.model_validate(vs.get("spec") or {})
    except ValidationError:
        return False  # an object the webhook cannot read covers nothing
    gateway = policy.egress_gateway_service

    def resolve(name: str) -> str:
        return resolve_service_host(name, namespace, policy.cluster_domain)

    for leg in legs_of(spec, namespace, policy.cluster_domain, egress_gateway=gateway):
        if leg.protocol != kind or not leg.at_sidecars or leg.delegate_field is not None:
            continue
        if not leg.targets or leg.port not in (None, port):
            continue
        if not any(host_within(host, h) for h in leg.hosts):
            continue
        if _gated(spec, leg):
            continue
        if kind != "http" and not _named_exactly(spec, leg, host, resolve):
            continue
        if all(t.host == gateway and not t.mirror for t in leg.targets):
            return True
    return False


def _leg_match(spec: VirtualServiceSpec, leg: Leg) -> Any:
    """The match of `spec` the leg was built from (its `field` says where), or None for a
    route without match."""
    found = _LEG_FIELD.fullmatch(leg.field)
    if found is None or found.group(3) is None:
        return None
    route, index = int(found.group(2)), int(found.group(3))
    if leg.protocol == "http":
        return spec.http[route]["match"][index]
    return (spec.tls[route] if leg.protocol == "tls" else spec.tcp[route]).match[index]


def _gated(spec: VirtualServiceSpec, leg: Leg) -> bool:
    """True when the leg's match applies to some clients only (or, on TCP, to some
    destination addresses only): the others keep the direct route."""
    match = _leg_match(spec, leg)
    if match is None:
        return False  # a route without match applies to every client
    if leg.protocol == "http":
        return bool(match.get("sourceLabels") or match.get("sourceNamespace"))
    subnets = isinstance(match, L4Match) and bool(match.destination_subnets)
    return bool(match.source_labels or match.source_namespace or subnets)


def _named_exactly(spec: VirtualServiceSpec, leg: Leg, host: str, resolve: Resolve) -> bool:
    """True when a VirtualService host containing `host` is written in lower case, as a
    TCP/TLS listener compares it with the (lower-case) ServiceEntry host; on TLS, a
    containing sniHosts name too."""
    if not any(h == h.lower() and host_within(host, resolve(h)) for h in spec.hosts):
        return False
    match = _leg_match(spec, leg) if leg.protocol == "tls" else None
    if match is None:
        return True
    return not match.sni_hosts or any(
        h == h.lower() and host_within(host, resolve(h)) for h in match.sni_hosts
    )


def route_applies(route: Object, entry_namespace: str, reader: str) -> bool:
    """True when a route attached to a ServiceEntry of `entry_namespace` applies to the
    sidecars of `reader` (GAMMA): a producer route (in the entry's namespace) applies to
    every namespace, a consumer route (elsewhere) only to its own.

    Istio: the VirtualService made of the route sits in the route's namespace with the
    mesh's default exportTo, and buildSidecarVirtualHostsForVirtualService
    (pilot/pkg/networking/core/route/route.go) drops a gateway-semantics one unless the
    service or the proxy is in its namespace. The TLS and TCP listener builders skip that
    test; a consumer TLSRoute or TCPRoute is still counted for its own namespace only,
    which can refuse an entry Istio would route but never admits one it would not.
    """
    own, _ = meta(route)
    return own in (entry_namespace, reader)


def route_covers(
    route: Object,
    route_kind: str,
    entry: tuple[str, str],
    guarded: GuardedPort,
    policy: CompiledPolicy,
) -> bool:
    """True when the Gateway API route `route` (of kind `route_kind`) sends all the
    `guarded` port's traffic that Istio gives it to the egress gateway.

    It must name the ServiceEntry `entry` as a parent (group networking.istio.io, namespace
    defaulting to the route's: toInternalParentReference) with no port or the guarded one
    (augmentPortMatch, augmentTLSPortMatch: a parentRef port is added to every match, so
    another port keeps its direct route); it must have rules, and every backend of every
    rule must be a Service that is an egress gateway, with no mirror or external-auth
    backend (rules_of).

    Matches do not matter: a request no rule matches finds no route in the host's virtual
    host and is answered 404 by the sidecar (BuildHTTPRoutesForVirtualService adds no
    fallback), as for a VirtualService's http match. A TLSRoute's hostnames become its
    sniHosts (buildTLSMatch; unset, the entry's hosts: augmentTLSPortMatch), so one must
    contain the host. An HTTP route does nothing for a wildcard host: a gateway-semantics
    VirtualService's wildcard host is not matched to registry services
    (separateVSHostsAndServices, route.go).
    """
    namespace, _ = meta(route)
    model = _ROUTE_MODELS.get(route_kind)
    if model is None:
        return False
    try:
        spec = model.model_validate(route.get("spec") or {})
    except ValidationError:
        return False  # an object the webhook cannot read covers nothing
    if not any(
        (ref.group, ref.kind) == SERVICE_ENTRY_PARENT
        and (ref.namespace or namespace, ref.name) == entry
        and ref.port in (None, guarded.port)
        for ref in spec.parent_refs
    ):
        return False
    if isinstance(spec, HTTPRouteSpec) and wildcard_suffix(guarded.host) is not None:
        return False
    if isinstance(spec, TLSRouteSpec) and not (
        not spec.hostnames or any(host_within(guarded.host, h) for h in spec.hostnames)
    ):
        return False
    rules = rules_of(spec, namespace, policy.cluster_domain)
    gateways = egress_gateway_services(policy)
    return bool(rules) and all(
        rule.backends
        and all(b.kind == "service" and not b.mirror and b.host in gateways for b in rule.backends)
        for rule in rules
    )


@dataclass(frozen=True, slots=True)
class _ServiceImports:
    """What one listener's `hosts` say of the services of one namespace, lower-cased: its
    entries for that namespace and for ``*``."""

    hosts: tuple[str, ...]
    excluded: tuple[str, ...]

    @classmethod
    def of(cls, listener: Listener, namespace: str) -> _ServiceImports:
        parts = [listener[n] for n in (namespace, "*") if n in listener]
        return cls(
            tuple(h.lower() for p in parts for h in p.hosts),
            tuple(x.lower() for p in parts for x in p.excluded),
        )

    def imports(self, host: str) -> bool:
        """True when the listener imports the service `host` (selectServices: no ``~``
        entry of its namespace or ``*`` contains it, and an entry does:
        hostClassification.Matches). Compared without case, so an entry is never taken to
        leave out a ServiceEntry it may import."""
        if not self.hosts:
            return False
        host = host.lower()
        if any(host_within(host, x) for x in self.excluded):
            return False
        return "*" in self.hosts or any(host_within(host, h) for h in self.hosts)


def _imports_virtual_service(
    listener: Listener, namespace: str, hosts: Sequence[str], gateway_semantics: bool
) -> bool:
    """True when the listener imports a VirtualService of `namespace` with `hosts`
    (SelectVirtualServices: some host matches an entry of its namespace or of ``*``,
    hostClassification.VSMatches, both ways or, for a route's VirtualService, within it,
    and no ``~`` entry of those contains it). Case-sensitive, as Istio compares."""
    parts = [listener[n] for n in (namespace, "*") if n in listener]
    matches = host_within if gateway_semantics else hosts_overlap
    return any(
        any(matches(host, h) for p in parts for h in p.hosts)
        and not any(host_within(host, x) for p in parts for x in p.excluded)
        for host in hosts
    )


def _imports_everything(listener: Listener) -> bool:
    """True when the listener imports every VirtualService and route with a host: it holds
    ``*/*`` and no ``~`` entry (`_imports_virtual_service` then holds for any of them)."""
    every = listener.get("*")
    return (
        every is not None
        and "*" in every.hosts
        and not any(part.excluded for part in listener.values())
    )


class SidecarScope:
    """What the pods one Sidecar applies to import (None: the pods no namespace-wide
    Sidecar takes, which import everything exported to them). The Sidecar's egress hosts
    are read once, when the scope is made, what they say of a namespace's services once
    per namespace, and of a service once (a scope lives for one evaluation)."""

    __slots__ = ("_answers", "_everything", "_listeners", "_services", "sidecar")

    def __init__(self, sidecar: Object | None) -> None:
        self.sidecar = sidecar
        self._listeners = [] if sidecar is None else egress_imports(sidecar)
        self._everything = [_imports_everything(ls) for ls in self._listeners]
        self._services: dict[str, list[_ServiceImports]] = {}
        self._answers: dict[tuple[str, str], list[bool]] = {}

    def _importing(self, namespace: str, host: str) -> list[bool]:
        """Whether each listener imports the service `host` of `namespace`."""
        found = self._answers.get((namespace, host))
        if found is None:
            services = self._services.get(namespace)
            if services is None:
                services = [_ServiceImports.of(ls, namespace) for ls in self._listeners]
                self._services[namespace] = services
            found = self._answers[namespace, host] = [s.imports(host) for s in services]
        return found

    def imports_entry(self, namespace: str, host: str) -> bool:
        """True when these pods get the entry's service (then they need its coverage)."""
        return self.sidecar is None or any(self._importing(namespace, host))

    def sees(self, obj: Object, entry_namespace: str, host: str) -> bool:
        """True when every listener of the Sidecar that imports the entry imports `obj`:
        a VirtualService, or a Gateway API route (whose VirtualService sits in the
        route's namespace and names the entry's hosts with gateway semantics)."""
        if self.sidecar is None:
            return True
        namespace, _ = meta(obj)
        route = obj.get("kind") != "VirtualService"
        spec = obj.get("spec")
        raw = spec.get("hosts") if isinstance(spec, dict) and not route else [host]
        hosts = [h for h in raw if isinstance(h, str)] if isinstance(raw, list) else []
        importing = self._importing(entry_namespace, host)
        return all(
            _imports_virtual_service(ls, namespace, hosts, route)
            for ls, imports in zip(self._listeners, importing, strict=True)
            if imports
        )

    def sees_everything(self, entry_namespace: str, host: str) -> bool:
        """True when `sees` holds for every VirtualService and route with a host: each
        listener that imports the entry imports ``*/*`` and excludes nothing."""
        if self.sidecar is None or all(self._everything):
            return True
        importing = self._importing(entry_namespace, host)
        return all(e or not i for e, i in zip(self._everything, importing, strict=True))


def sidecar_scopes(sidecars: Iterable[Object]) -> list[SidecarScope]:
    """The import scopes of a namespace's pods: one per Sidecar, and the default one unless
    some Sidecar has no workloadSelector (it then takes every pod no other one picks:
    getSidecarScope, pilot/pkg/model/push_context.go). The mesh root namespace's Sidecar,
    the default of namespaces without one, is the platform's and is not looked at."""
    found = list(sidecars)
    namespace_wide = any(
        not (isinstance(s.get("spec"), dict) and s["spec"].get("workloadSelector")) for s in found
    )
    return [*([] if namespace_wide else [SidecarScope(None)]), *map(SidecarScope, found)]


#: Stands for "any namespace no exportTo names" in `audience`: only a VirtualService
#: exported to every namespace is visible there (`visible_to`).
EVERY_NAMESPACE = "*"


def audience(namespace: str, export_to: list[str] | None, policy: CompiledPolicy) -> list[str]:
    """The namespaces whose sidecars import a ServiceEntry of `namespace` with `export_to`
    (unset is the mesh default, every namespace; ``.`` its own; ``~`` none), exempt ones
    left out; `EVERY_NAMESPACE` stands for all those no list names. Istio:
    PushContext.IsServiceVisible, exportTo in service_entry.proto."""
    targets = export_to or ["*"]
    found = [
        EVERY_NAMESPACE if t == "*" else namespace if t == "." else t for t in targets if t != "~"
    ]
    if EVERY_NAMESPACE in found:
        found.insert(0, namespace)
    return [
        n for n in dict.fromkeys(found) if n == EVERY_NAMESPACE or n not in policy.exempt_namespaces
    ]


def _covering_cache(
    guarded: GuardedPort, policy: CompiledPolicy
) -> Callable[[Object, RouteKind], bool]:
    """`covers` for `guarded`, each (VirtualService, kind) judged once: the objects are the
    view's, alive for the whole call, so their ids stay theirs."""
    judged: dict[tuple[int, RouteKind], bool] = {}

    def covering(vs: Object, kind: RouteKind) -> bool:
        key = (id(vs), kind)
        if key not in judged:
            judged[key] = covers(vs, guarded.host, guarded.port, policy, kind)
        return judged[key]

    return covering


def uncovered_namespace(
    view: MeshView,
    namespace: str,
    export_to: list[str] | None,
    guarded: GuardedPort,
    policy: CompiledPolicy,
    *,
    name: str = "",
    without: tuple[str, str, str] | None = None,
    extra: Iterable[Object] = (),
    covers_vs: Callable[[Object, RouteKind], bool] | None = None,
) -> str | None:
    """The first namespace the entry (`name` in `namespace`, exported to `export_to`)
    reaches where no VirtualService or route covers `guarded` (`EVERY_NAMESPACE` for the
    unnamed ones), or None when each is covered.

    A namespace with a Sidecar that imports the entry is judged on its own even when only
    `EVERY_NAMESPACE` names it: its pods import what their Sidecar says. Its pods without
    such a Sidecar see at least what every namespace sees, so the others need no look; and
    only the namespaces whose Sidecars name the entry's namespace or ``*`` may import it
    (`MeshView.sidecar_namespaces`). Once every namespace is covered, so is one whose pods
    that import the entry each import, for each route kind, one of the objects covering it
    there (visible to, and applying in, that namespace too): no VirtualService is parsed
    for it. `covers_vs` may stand in for `covers` (`covered`).
    """
    entry = (namespace, name) if name else None
    host = guarded.host
    added = list(extra)
    added_sidecars = [o for o in added if o.get("kind") == "Sidecar"]
    scopes: dict[str, list[SidecarScope]] = {}

    def scopes_of(where: str) -> list[SidecarScope]:
        if where not in scopes:
            kept = (s for s in view.sidecars(where) if ("Sidecar", *meta(s)) != without)
            scopes[where] = sidecar_scopes(
                [*kept, *(s for s in added_sidecars if meta(s)[0] == where)]
            )
        return scopes[where]

    readers = audience(namespace, export_to, policy)
    if EVERY_NAMESPACE in readers:
        importers = [*view.sidecar_namespaces(namespace), *(meta(s)[0] for s in added_sidecars)]
        readers += [
            where
            for where in dict.fromkeys(importers)
            if where not in readers
            and where not in policy.exempt_namespaces
            and any(
                s.sidecar is not None and s.imports_entry(namespace, host) for s in scopes_of(where)
            )
        ]
    covering = covers_vs or _covering_cache(guarded, policy)
    every: dict[RouteKind, list[Object]] = {}
    if EVERY_NAMESPACE in readers:
        every = _covering_objects(
            view, EVERY_NAMESPACE, guarded, policy, entry=entry, without=without, extra=added,
            covers_vs=covering,
        )  # fmt: skip
    covered_everywhere = bool(every) and all(every.values())

    def sees_every(scope: SidecarScope) -> bool:
        """True when the scope sees, for each route kind, some object covering the entry in
        every namespace (visible to, and applying in, any namespace too)."""
        return scope.sees_everything(namespace, host) or all(
            any(scope.sees(obj, namespace, host) for obj in objects) for objects in every.values()
        )

    for reader in readers:
        if reader == EVERY_NAMESPACE:
            if not covered_everywhere:
                return reader
            continue
        here = scopes_of(reader)
        if covered_everywhere and all(
            sees_every(s) for s in here if s.imports_entry(namespace, host)
        ):
            continue  # its pods see what covers the entry in every namespace
        if not covered(
            view, reader, guarded, policy, home=namespace, scopes=here, entry=entry,
            without=without, extra=added, covers_vs=covering,
        ):  # fmt: skip
            return reader
    return None


class SidecarChange:
    """Which entries a Sidecar CREATE or UPDATE in `namespace` uncovers.

    Only the pods of that namespace import differently, so each entry is judged there
    alone, as `uncovered_namespace` judges the namespace (on its own when the entry's
    exportTo names it or one of its Sidecars imports the entry, else as one of
    `EVERY_NAMESPACE`), with its Sidecars as they are (`before`) and as they would be
    (`after`): the change uncovers an entry covered there before and not after. Judged as
    one of every namespace after the change, the namespace sees what every namespace sees,
    which no Sidecar changes. As for a VirtualService change, an entry not covered now in
    some namespace it reaches is not the change's doing: that whole-audience look
    (`uncovered_namespace`) is taken only for an entry found uncovered here.
    """

    def __init__(
        self,
        view: MeshView,
        namespace: str,
        policy: CompiledPolicy,
        *,
        before: Iterable[Object],
        after: Iterable[Object],
    ) -> None:
        self.view, self.namespace, self.policy = view, namespace, policy
        self._before = sidecar_scopes(before)
        self._after = sidecar_scopes(after)
        self._covering: dict[GuardedPort, Callable[[Object, RouteKind], bool]] = {}

    def uncovered(self, entry: Object) -> GuardedPort | None:
        """The first guarded port of the ServiceEntry `entry` covered in the namespace now
        and not after the change, or None."""
        key = meta(entry)
        exempt = self.policy.exempt_namespaces
        if key[0] in exempt or self.namespace in exempt:
            return None  # the entry is trusted, or these pods are never judged
        readers = audience(key[0], export_to(entry), self.policy)
        named = self.namespace in readers
        if not (named or EVERY_NAMESPACE in readers):
            return None  # not visible here
        hosts = {h for h in spec_hosts(entry) if not self._settled(key, h, named=named)}
        if not hosts:
            return None  # the ports' hosts are settled before their ports are read
        for guarded in guarded_ports(entry, self.policy):
            if guarded.host in hosts and self._uncovers(entry, guarded, named=named):
                return guarded
        return None

    def _settled(self, entry: tuple[str, str], host: str, *, named: bool) -> bool:
        """True when no port of `host`, of the ServiceEntry `entry`, can be uncovered here:
        no pod imports it after the change; or the namespace is then judged as one of
        every namespace; or its pods that import it will see every VirtualService and
        route that may cover it (each importing listener imports ``*/*``, or imports
        each of them), so they are as covered as the namespace is without Sidecars, which
        holds when some of its pods were covered before or when it was judged as one of
        every namespace (whose candidates it sees, and more)."""
        home, _ = entry
        after = [s for s in self._after if s.imports_entry(home, host)]
        if not after or not (named or any(s.sidecar is not None for s in after)):
            return True
        if named and not any(s.imports_entry(home, host) for s in self._before):
            return False  # its pods start importing the entry: judged in full
        if all(s.sees_everything(home, host) for s in after):
            return True
        candidates = [
            *self.view.virtual_services(self.namespace, host),
            *(r for kind in _ROUTE_MODELS for r in self.view.service_entry_routes(kind, *entry)),
        ]
        return all(s.sees(obj, home, host) for s in after for obj in candidates)

    def _uncovers(self, entry: Object, guarded: GuardedPort, *, named: bool) -> bool:
        home, name = meta(entry)
        host, here = guarded.host, self.namespace
        after = [s for s in self._after if s.imports_entry(home, host)]
        before = [s for s in self._before if s.imports_entry(home, host)]
        covering = self._covering.setdefault(guarded, _covering_cache(guarded, self.policy))
        alone = named or any(s.sidecar is not None for s in before)
        was = covered(
            self.view, here if alone else EVERY_NAMESPACE, guarded, self.policy, home=home,
            scopes=before if alone else [SidecarScope(None)], entry=(home, name),
            covers_vs=covering,
        )  # fmt: skip
        if not was or covered(
            self.view, here, guarded, self.policy, home=home, scopes=after, entry=(home, name),
            covers_vs=covering,
        ):  # fmt: skip
            return False
        elsewhere = uncovered_namespace(
            self.view, home, export_to(entry), guarded, self.policy, name=name,
            covers_vs=covering,
        )  # fmt: skip
        return elsewhere is None  # not covered now in some namespace: not this change


def covered(
    view: MeshView,
    namespace: str,
    guarded: GuardedPort,
    policy: CompiledPolicy,
    *,
    home: str,
    scopes: Iterable[SidecarScope],
    entry: tuple[str, str] | None = None,
    without: tuple[str, str, str] | None = None,
    extra: Iterable[Object] = (),
    covers_vs: Callable[[Object, RouteKind], bool] | None = None,
) -> bool:
    """True when a VirtualService visible to `namespace`, or a Gateway API route attached
    to the ServiceEntry `entry` (namespace, name) that applies there, covers `guarded` (an
    entry of `home`) for each of the namespace's Sidecar `scopes` that imports the entry,
    counting only what that scope imports (`SidecarScope`).

    `without` leaves one object (kind, namespace, name) out and `extra` adds candidates
    (with their `kind`): the view as it would be after an UPDATE or DELETE. An added
    VirtualService counts only where its own exportTo makes it visible, as the view's do
    (SelectVirtualServices, pilot/pkg/model/virtualservice.go, reads the index exportTo
    built): an UPDATE that narrows exportTo takes the route away from the namespaces it
    leaves out. `covers_vs` may stand in for `covers` (a cache across namespaces).
    """
    host = guarded.host
    scopes = [scope for scope in scopes if scope.imports_entry(home, host)]
    if not scopes:
        return True  # no pod here imports the entry
    found = _covering_objects(
        view, namespace, guarded, policy, entry=entry, without=without, extra=extra,
        covers_vs=covers_vs,
    )  # fmt: skip
    return all(
        any(scope.sees(obj, home, host) for obj in objects)
        for objects in found.values()
        for scope in scopes
    )


def _covering_objects(
    view: MeshView,
    namespace: str,
    guarded: GuardedPort,
    policy: CompiledPolicy,
    *,
    entry: tuple[str, str] | None = None,
    without: tuple[str, str, str] | None = None,
    extra: Iterable[Object] = (),
    covers_vs: Callable[[Object, RouteKind], bool] | None = None,
) -> dict[RouteKind, list[Object]]:
    """For each route kind `guarded` needs, the VirtualServices visible to `namespace` and
    the Gateway API routes attached to `entry` that apply there which send that kind of
    its traffic to the egress gateway, whatever a Sidecar imports (see `covered`)."""
    host = guarded.host
    added = list(extra)
    candidates: list[Object] = [
        *(
            vs
            for vs in view.virtual_services(namespace, host)
            if ("VirtualService", *meta(vs)) != without
        ),
        *(vs for vs in added if vs.get("kind") == "VirtualService" and visible_to(vs, namespace)),
    ]
    judge = covers_vs or (lambda vs, kind: covers(vs, host, guarded.port, policy, kind))
    found: dict[RouteKind, list[Object]] = {}
    for kind in route_kinds(guarded.protocol):
        found[kind] = [vs for vs in candidates if judge(vs, kind)]
        if entry is not None:
            found[kind] += _covering_routes(
                view, kind, namespace, guarded, policy, entry, without, added
            )
    return found


def _covering_routes(
    view: MeshView,
    kind: RouteKind,
    namespace: str,
    guarded: GuardedPort,
    policy: CompiledPolicy,
    entry: tuple[str, str],
    without: tuple[str, str, str] | None,
    added: list[Object],
) -> list[Object]:
    """The Gateway API routes attached to `entry` whose `kind` routes cover `guarded` in
    `namespace` (route_applies, route_covers)."""
    found = []
    for route_kind, _ in GATEWAY_API_ROUTES[kind]:
        routes = [
            r
            for r in view.service_entry_routes(route_kind, *entry)
            if (route_kind, *meta(r)) != without
        ]
        routes += [r for r in added if r.get("kind") == route_kind]
        found += [
            r
            for r in routes
            if route_applies(r, entry[0], namespace)
            and route_covers(r, route_kind, entry, guarded, policy)
        ]
    return found


def _name(host: str) -> str:
    return "egress-" + host.replace("*", "wildcard").replace(".", "-")[:50].strip("-")


def suggested_virtual_service(namespace: str, guarded: GuardedPort, policy: CompiledPolicy) -> str:
    """The smallest VirtualService (YAML) that sends `guarded`'s mesh traffic to the gateway."""
    host, port, gateway = guarded.host, guarded.port, policy.egress_gateway_service
    destination = f"{{destination: {{host: {gateway}, port: {{number: {port}}}}}}}"
    matches = {
        "tls": f"  tls:\n  - match: [{{port: {port}, sniHosts: [{host}]}}]\n",
        "http": f"  http:\n  - match: [{{port: {port}}}]\n",
        "tcp": f"  tcp:\n  - match: [{{port: {port}}}]\n",
    }
    routes = "\n".join(
        f"{matches[kind]}    route: [{destination}]" for kind in route_kinds(guarded.protocol)
    )
    return (
        "apiVersion: networking.istio.io/v1\n"
        "kind: VirtualService\n"
        f"metadata: {{name: {_name(host)}, namespace: {namespace}}}\n"
        f"spec:\n  hosts: [{host}]\n  gateways: [mesh]\n"
        f"{routes}"
    )
