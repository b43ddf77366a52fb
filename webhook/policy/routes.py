"""VirtualService routes flattened into legs: where each match, at each gateway, sends bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from webhook.policy.names import is_in_cluster, resolve_gateway_ref, resolve_service_host
from webhook.resources.virtual_service import (
    MESH_GATEWAY,
    Destination,
    Headers,
    HTTPRoute,
    L4Match,
    L4Route,
    TLSMatch,
    VirtualServiceSpec,
)

#: Resolves a destination host as Istio does: (FQDN, outside the cluster domain?).
_Resolve = Callable[[str], tuple[str, bool]]

#: Where a delegate's routes apply: wherever the VirtualService that delegates to it is
#: bound. Istio reads only a delegate's http routes, merged into its parent's
#: (pilot/pkg/model/virtualservice.go), never its own `gateways`, so this cannot be known.
DELEGATING_GATEWAYS = "<gateways of the delegating VirtualService>"

#: Headers whose value becomes the authority the upstream (and the egress gateway) sees.
AUTHORITY_HEADERS = frozenset({"host", ":authority"})


@dataclass(frozen=True, slots=True)
class Target:
    """A place a leg sends bytes to: a route destination or a mirror."""

    field: str
    raw_host: str
    host: str
    port: int | None
    mirror: bool
    #: True when `host` lies outside the cluster domain (computed once, read by every rule).
    external: bool


@dataclass(frozen=True, slots=True)
class AuthorityRewrite:
    """A rewrite of the Host/:authority that the next hop sees."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Leg:
    """One match of one route (or a route without match), with the gateways it applies to.

    `hosts` are the resolved VirtualService hosts the leg carries traffic for (narrowed
    to `sniHosts` on TLS). Everything the route does is repeated on each of its legs, so
    a rule that checks legs one by one sees a sourceLabels-gated branch like any other.
    """

    protocol: Literal["http", "tls", "tcp"]
    field: str
    gateways: frozenset[str]
    hosts: tuple[str, ...]
    targets: tuple[Target, ...]
    authority_rewrites: tuple[AuthorityRewrite, ...]
    delegate_field: str | None
    #: The port the match selects (None: every port of the hosts).
    port: int | None = None

    @property
    def at_sidecars(self) -> bool:
        """True when the leg applies to sidecars (the ``mesh`` gateway)."""
        return MESH_GATEWAY in self.gateways


def legs_of(spec: VirtualServiceSpec, namespace: str, cluster_domain: str) -> tuple[Leg, ...]:
    """Every leg of a VirtualService, with names resolved as Istio resolves them."""
    if spec.hosts:
        top_gateways = frozenset(
            resolve_gateway_ref(g, namespace) for g in spec.gateways
        ) or frozenset({MESH_GATEWAY})
    else:  # a delegate: its parent may be bound to sidecars or to any gateway
        top_gateways = frozenset({MESH_GATEWAY, DELEGATING_GATEWAYS})
    hosts = tuple(resolve_service_host(h, namespace, cluster_domain) for h in spec.hosts)

    resolved: dict[str, tuple[str, bool]] = {}  # a large VirtualService names few hosts

    def resolve(host: str) -> tuple[str, bool]:
        answer = resolved.get(host)
        if answer is None:
            fqdn = resolve_service_host(host, namespace, cluster_domain)
            answer = resolved[host] = (fqdn, not is_in_cluster(fqdn, cluster_domain))
        return answer

    legs = list(_http_legs(spec, namespace, top_gateways, hosts, resolve))
    l4_routes: list[tuple[Literal["tls", "tcp"], int, L4Route]] = [
        *(("tls", i, route) for i, route in enumerate(spec.tls)),
        *(("tcp", i, route) for i, route in enumerate(spec.tcp)),
    ]
    for protocol, i, l4 in l4_routes:
        path = f"spec.{protocol}[{i}]"
        targets = tuple(_l4_targets(l4, path, resolve))
        l4_matches: list[TLSMatch | L4Match | None] = [*l4.match] or [None]
        for j, match in enumerate(l4_matches):
            # Only TLS matches carry sniHosts; a TCP route serves every name of its hosts.
            sni = (
                tuple(resolve(h)[0] for h in match.sni_hosts) if isinstance(match, TLSMatch) else ()
            )
            legs.append(
                Leg(
                    protocol=protocol,
                    field=f"{path}.match[{j}]" if match else path,
                    gateways=_gateways(match.gateways if match else [], namespace, top_gateways),
                    hosts=sni or hosts,
                    targets=targets,
                    authority_rewrites=(),
                    delegate_field=None,
                    port=match.port if match else None,
                )
            )
    return tuple(legs)


def _http_legs(
    spec: VirtualServiceSpec,
    namespace: str,
    top_gateways: frozenset[str],
    hosts: tuple[str, ...],
    resolve: _Resolve,
) -> Iterator[Leg]:
    """One leg per match of each http route (one for a route without match)."""
    for i, http in enumerate(spec.http):
        path = f"spec.http[{i}]"
        targets = tuple(_http_targets(http, path, resolve))
        rewrites = tuple(_http_rewrites(http, path))
        delegate = f"{path}.delegate" if http.delegate is not None else None
        matches = [(f"{path}.match[{j}]", m.gateways, m.port) for j, m in enumerate(http.match)]
        for field, gateways, port in matches or [(path, [], None)]:
            yield Leg(
                protocol="http",
                field=field,
                gateways=_gateways(gateways, namespace, top_gateways),
                hosts=hosts,
                targets=targets,
                authority_rewrites=rewrites,
                delegate_field=delegate,
                port=port,
            )


def _gateways(refs: list[str], namespace: str, default: frozenset[str]) -> frozenset[str]:
    """A match's own gateways override the VirtualService's."""
    if not refs:
        return default
    return frozenset(resolve_gateway_ref(g, namespace) for g in refs)


def _target(dest: Destination, field: str, resolve: _Resolve, *, mirror: bool) -> Target:
    host, external = resolve(dest.host)
    return Target(
        field=f"{field}.host",
        raw_host=dest.host,
        host=host,
        port=dest.port.number if dest.port else None,
        mirror=mirror,
        external=external,
    )


def _http_targets(http: HTTPRoute, path: str, resolve: _Resolve) -> Iterator[Target]:
    for k, route in enumerate(http.route):
        yield _target(route.destination, f"{path}.route[{k}].destination", resolve, mirror=False)
    if http.mirror is not None:
        yield _target(http.mirror, f"{path}.mirror", resolve, mirror=True)
    for k, mirror in enumerate(http.mirrors):
        yield _target(mirror.destination, f"{path}.mirrors[{k}].destination", resolve, mirror=True)


def _l4_targets(route: L4Route, path: str, resolve: _Resolve) -> Iterator[Target]:
    for k, dest in enumerate(route.route):
        yield _target(dest.destination, f"{path}.route[{k}].destination", resolve, mirror=False)


def _http_rewrites(http: HTTPRoute, path: str) -> Iterator[AuthorityRewrite]:
    if http.rewrite is not None and http.rewrite.authority:
        yield AuthorityRewrite(f"{path}.rewrite.authority", http.rewrite.authority)
    yield from _header_rewrites(http.headers, f"{path}.headers")
    for k, route in enumerate(http.route):
        yield from _header_rewrites(route.headers, f"{path}.route[{k}].headers")


def _header_rewrites(headers: Headers | None, path: str) -> Iterator[AuthorityRewrite]:
    operations = headers.request if headers is not None else None
    if operations is None:
        return
    for verb, values in (("set", operations.set), ("add", operations.add)):
        for name, value in (values or {}).items():
            if name.lower() in AUTHORITY_HEADERS:
                yield AuthorityRewrite(f"{path}.request.{verb}[{name}]", value)
