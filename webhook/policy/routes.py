"""VirtualService routes flattened into legs: where each match, at each gateway, sends bytes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from webhook.policy.names import is_in_cluster, resolve_gateway_ref, resolve_service_host
from webhook.resources.virtual_service import (
    MESH_GATEWAY,
    Destination,
    Headers,
    HTTPRewrite,
    HTTPRoute,
    L4Match,
    L4Route,
    TLSMatch,
    VirtualServiceSpec,
)

#: Where a delegate's routes apply: wherever the VirtualService that delegates to it is
#: bound. Istio reads only a delegate's http routes, merged into its parent's
#: (pilot/pkg/model/virtualservice.go), never its own `gateways`, so this cannot be known.
DELEGATING_GATEWAYS = "<gateways of the delegating VirtualService>"

#: Headers whose value becomes the authority the upstream (and the egress gateway) sees.
AUTHORITY_HEADERS = frozenset({"host", ":authority"})

#: What a route or mirror without `destination` sends to (validation requires one).
_NO_DESTINATION: Destination = {}


class Target(NamedTuple):
    """A place a leg sends bytes to: a route destination or a mirror.

    A named tuple rather than a frozen dataclass: as immutable, and a 200-route
    VirtualService builds hundreds of them per evaluation at a third of the cost.
    """

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


class Leg(NamedTuple):
    """One match of one route (or a route without match), with the gateways it applies to.

    `hosts` are the resolved VirtualService hosts the leg carries traffic for (narrowed
    to `sniHosts` on TLS). Everything the route does is repeated on each of its legs, so
    a rule that checks legs one by one sees a sourceLabels-gated branch like any other.
    The legs of one route share its targets and rewrites (the same tuples).
    """

    protocol: Literal["http", "tls", "tcp"]
    field: str
    gateways: frozenset[str]
    #: True when the leg applies to sidecars (the ``mesh`` gateway is among `gateways`).
    at_sidecars: bool
    hosts: tuple[str, ...]
    targets: tuple[Target, ...]
    authority_rewrites: tuple[AuthorityRewrite, ...]
    delegate_field: str | None
    #: The port the match selects (the port the application dialled), None for any.
    port: int | None
    #: True when a route or mirror sends to the egress gateway Service.
    reaches_egress_gateway: bool
    #: True when the leg keeps its traffic in the cluster: every target is an in-cluster
    #: name other than the egress gateway, and nothing is delegated out of view (a
    #: redirect or direct response has no target at all). An ingress VirtualService that
    #: also binds ``mesh`` routes its public name this way (read by rules only for
    #: sidecar legs).
    inward: bool


#: Builds a Target or Leg from the tuple of its fields in order, without the generated
#: __new__'s argument handling: a large VirtualService builds hundreds of each per
#: evaluation, and this halves what each costs.
_new = tuple.__new__


class _Names:
    """Resolves names and gateway references once per VirtualService, however many routes
    repeat them (a large VirtualService names few hosts)."""

    def __init__(self, spec: VirtualServiceSpec, namespace: str, cluster_domain: str) -> None:
        self.namespace = namespace
        self.cluster_domain = cluster_domain
        if spec.hosts:
            self.top_gateways = frozenset(
                resolve_gateway_ref(g, namespace) for g in spec.gateways
            ) or frozenset({MESH_GATEWAY})
        else:  # a delegate: its parent may be bound to sidecars or to any gateway
            self.top_gateways = frozenset({MESH_GATEWAY, DELEGATING_GATEWAYS})
        self._hosts: dict[str, tuple[str, bool]] = {}
        self._gateway_sets: dict[tuple[str, ...], frozenset[str]] = {}

    def resolve(self, host: str) -> tuple[str, bool]:
        """(the FQDN Istio reads, outside the cluster domain?)."""
        answer = self._hosts.get(host)
        if answer is None:
            fqdn = resolve_service_host(host, self.namespace, self.cluster_domain)
            answer = self._hosts[host] = (fqdn, not is_in_cluster(fqdn, self.cluster_domain))
        return answer

    def gateways(self, refs: list[str]) -> frozenset[str]:
        """A match's own gateways override the VirtualService's."""
        if not refs:
            return self.top_gateways
        key = tuple(refs)
        found = self._gateway_sets.get(key)
        if found is None:
            found = self._gateway_sets[key] = frozenset(
                resolve_gateway_ref(g, self.namespace) for g in refs
            )
        return found

    def target(self, dest: Destination, field: str, mirror: bool) -> Target:
        """Where `dest` sends bytes (`mirror`: a copy of them)."""
        raw = dest.get("host", "")
        host, external = self.resolve(raw)
        port = dest.get("port")
        number = port.get("number") if port is not None else None
        return _new(Target, (field, raw, host, number, mirror, external))


def legs_of(
    spec: VirtualServiceSpec, namespace: str, cluster_domain: str, *, egress_gateway: str
) -> tuple[Leg, ...]:
    """Every leg of a VirtualService, with names resolved as Istio resolves them.

    One pass over the routes, linear in their number: a name or a list of gateway
    references is resolved once per VirtualService however many routes repeat it, and
    what rules ask of a route's targets (`egress_gateway`, the Service's FQDN, among
    them? all inside?) is answered once per route, not once per leg and rule.
    """
    names = _Names(spec, namespace, cluster_domain)
    hosts = tuple(resolve_service_host(h, namespace, cluster_domain) for h in spec.hosts)
    legs: list[Leg] = []
    _http_legs(spec, names, hosts, egress_gateway, legs)
    legs.extend(_l4_legs(spec, names, hosts, egress_gateway))
    return tuple(legs)


def _http_targets(http: HTTPRoute, path: str, names: _Names) -> tuple[Target, ...]:
    """The destinations and mirrors of one http route."""
    target = names.target
    found = []
    for k, route in enumerate(http.get("route", ())):
        dest = route.get("destination", _NO_DESTINATION)
        found.append(target(dest, f"{path}.route[{k}].destination.host", False))
    if (mirrored := http.get("mirror")) is not None:
        found.append(target(mirrored, f"{path}.mirror.host", True))
    for k, mirror in enumerate(http.get("mirrors", ())):
        dest = mirror.get("destination", _NO_DESTINATION)
        found.append(target(dest, f"{path}.mirrors[{k}].destination.host", True))
    return tuple(found)


def _http_legs(
    spec: VirtualServiceSpec,
    names: _Names,
    hosts: tuple[str, ...],
    egress_gateway: str,
    legs: list[Leg],
) -> None:
    """Append the legs of every http route to `legs` (a big API has hundreds of routes:
    plain loops and appends, no per-route generator)."""
    top_gateways, gateways_of, add = names.top_gateways, names.gateways, legs.append
    top_at_sidecars = MESH_GATEWAY in top_gateways
    for i, http in enumerate(spec.http):
        path = f"spec.http[{i}]"
        targets = _http_targets(http, path, names)
        rewrites = tuple(_http_rewrites(http, path)) if _may_rewrite(http) else ()
        delegate = f"{path}.delegate" if http.get("delegate") is not None else None
        reaches, inward = _reach(targets, egress_gateway)
        inward = inward and delegate is None
        matches = http.get("match")
        if not matches:
            add(_new(Leg, ("http", path, top_gateways, top_at_sidecars, hosts, targets,
                           rewrites, delegate, None, reaches, inward)))  # fmt: skip
            continue
        for j, m in enumerate(matches):
            refs = m.get("gateways")
            gateways = gateways_of(refs) if refs else top_gateways
            add(_new(Leg, ("http", f"{path}.match[{j}]", gateways, MESH_GATEWAY in gateways,
                           hosts, targets, rewrites, delegate, m.get("port"), reaches,
                           inward)))  # fmt: skip


def _l4_legs(
    spec: VirtualServiceSpec, names: _Names, hosts: tuple[str, ...], egress_gateway: str
) -> Iterator[Leg]:
    l4_routes: list[tuple[Literal["tls", "tcp"], int, L4Route]] = [
        *(("tls", i, route) for i, route in enumerate(spec.tls)),
        *(("tcp", i, route) for i, route in enumerate(spec.tcp)),
    ]
    for protocol, i, l4 in l4_routes:
        path = f"spec.{protocol}[{i}]"
        targets = tuple(
            names.target(dest.destination, f"{path}.route[{k}].destination.host", False)
            for k, dest in enumerate(l4.route)
        )
        reaches, inward = _reach(targets, egress_gateway)
        l4_matches: list[TLSMatch | L4Match | None] = [*l4.match] or [None]
        for j, match in enumerate(l4_matches):
            # Only TLS matches carry sniHosts; a TCP route serves every name of its hosts.
            sni = (
                tuple(names.resolve(h)[0] for h in match.sni_hosts)
                if isinstance(match, TLSMatch)
                else ()
            )
            gateways = names.gateways(match.gateways if match else [])
            yield Leg(
                protocol=protocol,
                field=f"{path}.match[{j}]" if match else path,
                gateways=gateways,
                at_sidecars=MESH_GATEWAY in gateways,
                hosts=sni or hosts,
                targets=targets,
                authority_rewrites=(),
                delegate_field=None,
                port=match.port if match else None,
                reaches_egress_gateway=reaches,
                inward=inward,
            )


def _reach(targets: tuple[Target, ...], egress_gateway: str) -> tuple[bool, bool]:
    """(some target is the egress gateway, every target is in-cluster and not it)."""
    reaches = external = False
    for target in targets:  # one target, most often: a loop, not two generators
        reaches = reaches or target.host == egress_gateway
        external = external or target.external
    return reaches, not reaches and not external


def _may_rewrite(http: HTTPRoute) -> bool:
    """False when the route has nothing that could rewrite the authority (most routes)."""
    return (
        http.get("rewrite") is not None
        or http.get("headers") is not None
        or any(route.get("headers") is not None for route in http.get("route", ()))
    )


def _http_rewrites(http: HTTPRoute, path: str) -> Iterator[AuthorityRewrite]:
    rewrite = http.get("rewrite")
    if rewrite is not None and (authority := rewrite.get("authority")):
        yield AuthorityRewrite(f"{path}.rewrite.authority", authority)
    if rewrite is not None:
        yield from _path_authority_rewrites(rewrite, path)
    yield from _header_rewrites(http.get("headers"), f"{path}.headers")
    for k, route in enumerate(http.get("route", ())):
        yield from _header_rewrites(route.get("headers"), f"{path}.route[{k}].headers")


def _header_rewrites(headers: Headers | None, path: str) -> Iterator[AuthorityRewrite]:
    operations = headers.get("request") if headers is not None else None
    if operations is None:
        return
    for verb, values in (("set", operations.get("set")), ("add", operations.get("add"))):
        for name, value in (values or {}).items():
            if name.lower() in AUTHORITY_HEADERS:
                yield AuthorityRewrite(f"{path}.request.{verb}[{name}]", value)


def _path_authority_rewrites(rewrite: HTTPRewrite, path: str) -> Iterator[AuthorityRewrite]:
    """A URI rewrite whose result may not start with ``/``: an authority rewrite.

    Istio turns `rewrite.uri` into the route's `prefix_rewrite` and `uriRegexRewrite` into
    its `regex_rewrite` (applyHTTPRouteDestination, pilot/pkg/networking/core/route/
    route.go) and validates neither (validateHTTPRewrite). A path that does not start with
    ``/`` goes out on an HTTP/1.1 request line as the absolute form ``http://host/...``,
    and the next Envoy (the egress gateway, or any proxy or CDN front end the route
    reaches) takes the Host from it, ignoring the Host header (RFC 7230 5.7; Envoy's
    ServerConnectionImpl::handlePath, `allow_absolute_url` defaulting to true): the
    rewrite picks the host as `rewrite.authority` would. The authority is the URL's host
    when the rewrite spells one, else the rewrite as written (the request's own path
    fills it in).
    """
    uri = rewrite.get("uri")
    if uri and (authority := prefix_rewrite_authority(uri)) is not None:
        yield AuthorityRewrite(f"{path}.rewrite.uri", authority)
    regex = rewrite.get("uriRegexRewrite")
    if isinstance(regex, dict):
        pattern, substitution = regex.get("match"), regex.get("rewrite")
        if (
            isinstance(pattern, str)
            and isinstance(substitution, str)
            and (authority := regex_rewrite_authority(pattern, substitution)) is not None
        ):
            yield AuthorityRewrite(f"{path}.rewrite.uriRegexRewrite.rewrite", authority)


def prefix_rewrite_authority(uri: str) -> str | None:
    """The authority a ``prefix_rewrite`` to `uri` picks (see _path_authority_rewrites), or
    None when the rewritten path keeps its leading ``/``."""
    return None if uri.startswith("/") else _spelled_authority(uri)


def regex_rewrite_authority(pattern: str, substitution: str) -> str | None:
    """The authority a ``regex_rewrite`` of `pattern` by `substitution` picks, or None when
    the rewritten path surely keeps its leading ``/``."""
    if _keeps_leading_slash(pattern, substitution):
        return None
    return _spelled_authority(substitution)


def _spelled_authority(text: str) -> str:
    """The host of an absolute URL written literally, else `text` itself."""
    if "\\" in text:
        return text  # a backreference: the request's own path supplies the host
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        return text
    return host if parts.scheme and host else text


#: Characters that make a regex element other than one literal character.
_REGEX_SPECIAL = frozenset("^$.[](){}|*+?\\")


def _keeps_leading_slash(pattern: str, substitution: str) -> bool:
    """True when RE2's global replace of `pattern` by `substitution` in a path starting with
    ``/`` (an HTTP/1.1 origin-form or HTTP/2 ``:path``) surely leaves a leading ``/``.

    The result starts with what replaces a match at position 0, if there is one: a
    substitution starting with ``/``, with ``\\0`` (the match, which starts with the
    path's ``/``), or with a group that starts with a literal ``/`` keeps it; a pattern
    that starts with one literal character other than ``/`` (and has no alternation)
    never matches there. Anything else is taken to drop it.
    """
    if substitution.startswith("/"):
        return True
    group = re.match(r"\\(\d)", substitution)
    if group is not None:
        number = int(group.group(1))
        return number == 0 or _group_starts_with_slash(pattern, number)
    first = pattern[:1]
    return (
        first not in _REGEX_SPECIAL
        and first not in ("", "/")
        and pattern[1:2] not in ("*", "?", "{")
        and "|" not in pattern
    )


def _group_starts_with_slash(pattern: str, number: int) -> bool:
    """True when capture group `number` of `pattern` always starts with a literal ``/``."""
    count = 0
    k = 0
    while k < len(pattern):
        char = pattern[k]
        if char == "\\":
            k += 2
            continue
        if char == "(" and (
            not pattern.startswith("(?", k) or pattern.startswith(("(?P<", "(?<"), k)
        ):
            count += 1
            if count == number:
                body = re.sub(r"^\(\?P?<[^>]*>|^\(", "", pattern[k:])
                end = _group_end(pattern, k)
                inner = pattern[k:end]
                after = pattern[end + 1 : end + 2]
                return (
                    (body.startswith("/") or body.startswith("\\/"))
                    and "|" not in inner
                    and after not in ("*", "?", "{")
                )
        k += 1
    return False


def _group_end(pattern: str, start: int) -> int:
    """The index of the parenthesis closing the group opened at `start` (or the end)."""
    depth = 0
    k = start
    while k < len(pattern):
        char = pattern[k]
        if char == "\\":
            k += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return len(pattern)
