"""Egress gateway coverage: does some VirtualService send a host's mesh traffic to the gateway?

Shared by the two coverage rules (a ServiceEntry must be covered when it is admitted; a
VirtualService change must not uncover a live one). Istio sends a sidecar's traffic for
a ServiceEntry host straight out unless a VirtualService bound to ``mesh`` and visible
to the client's namespace routes it elsewhere (pilot/pkg/networking/core: the
VirtualService for a host wins over the ServiceEntry's passthrough cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from webhook.policy.hosts import host_within
from webhook.policy.index import CompiledPolicy
from webhook.policy.mesh_workloads import names_mesh_workloads
from webhook.policy.routes import legs_of
from webhook.policy.view import MeshView, Object, meta, spec_hosts
from webhook.resources.virtual_service import VirtualServiceSpec

#: Protocols whose egress route is an sniHosts-matched TLS route.
_TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
_HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})


@dataclass(frozen=True, slots=True)
class GuardedPort:
    """One host and port of a ServiceEntry whose mesh traffic must use the egress gateway."""

    host: str
    port: int
    protocol: str


def guarded_ports(entry: Object, policy: CompiledPolicy) -> list[GuardedPort]:
    """The (host, port) pairs of a ServiceEntry that the egress gateway must carry."""
    spec = entry.get("spec")
    ports = spec.get("ports") if isinstance(spec, dict) else None
    numbered = [
        (p["number"], str(p.get("protocol") or "TCP").upper())
        for p in ports or ()
        if isinstance(p, dict) and isinstance(p.get("number"), int)
    ]
    suffix = "." + policy.cluster_domain
    hosts = spec_hosts(entry)
    if isinstance(spec, dict) and names_mesh_workloads(
        hosts,
        location=spec.get("location"),
        selects_workloads=spec.get("workloadSelector") is not None,
        lists_endpoints=bool(spec.get("endpoints") or spec.get("addresses")),
        policy=policy,
    ):
        return []  # names its namespace's mesh workloads: nothing leaves
    return [
        GuardedPort(host, number, protocol)
        for host in hosts
        if not host.endswith(suffix) and policy.requires_gateway(host)
        for number, protocol in numbered
    ]


def covers(vs: Object, host: str, port: int, policy: CompiledPolicy) -> bool:
    """True when the VirtualService sends all sidecar traffic for `host`:`port` to the gateway.

    Some leg bound to ``mesh`` whose hosts contain `host`, matching that port (or every
    port), forwards only to the egress gateway Service: no other destination, no mirror,
    no delegate.
    """
    namespace, _ = meta(vs)
    try:
        spec = VirtualServiceSpec.model_validate(vs.get("spec") or {})
    except ValidationError:
        return False  # an object the webhook cannot read covers nothing
    gateway = policy.egress_gateway_service
    for leg in legs_of(spec, namespace, policy.cluster_domain, egress_gateway=gateway):
        if not leg.at_sidecars or leg.delegate_field is not None or not leg.targets:
            continue
        if leg.port not in (None, port) or not any(host_within(host, h) for h in leg.hosts):
            continue
        if all(t.host == gateway and not t.mirror for t in leg.targets):
            return True
    return False


def covered(
    view: MeshView,
    namespace: str,
    guarded: GuardedPort,
    policy: CompiledPolicy,
    *,
    without: tuple[str, str] | None = None,
    extra: Iterable[Object] = (),
) -> bool:
    """True when a VirtualService visible to `namespace` covers `guarded`.

    `without` leaves one VirtualService (namespace, name) out and `extra` adds candidates:
    the view as it would be after an UPDATE or DELETE.
    """
    candidates: Iterator[Object] = (
        vs for vs in view.virtual_services(namespace, guarded.host) if meta(vs) != without
    )
    return any(covers(vs, guarded.host, guarded.port, policy) for vs in (*candidates, *extra))


def _name(host: str) -> str:
    return "egress-" + host.replace("*", "wildcard").replace(".", "-")[:50].strip("-")


def suggested_virtual_service(namespace: str, guarded: GuardedPort, policy: CompiledPolicy) -> str:
    """The smallest VirtualService (YAML) that sends `guarded`'s mesh traffic to the gateway."""
    host, port, gateway = guarded.host, guarded.port, policy.egress_gateway_service
    destination = f"{{destination: {{host: {gateway}, port: {{number: {port}}}}}}}"
    if guarded.protocol in _TLS_PROTOCOLS:
        route = f"  tls:\n  - match: [{{port: {port}, sniHosts: [{host}]}}]\n"
    elif guarded.protocol in _HTTP_PROTOCOLS:
        route = f"  http:\n  - match: [{{port: {port}}}]\n"
    else:
        route = f"  tcp:\n  - match: [{{port: {port}}}]\n"
    return (
        "apiVersion: networking.istio.io/v1\n"
        "kind: VirtualService\n"
        f"metadata: {{name: {_name(host)}, namespace: {namespace}}}\n"
        f"spec:\n  hosts: [{host}]\n  gateways: [mesh]\n"
        f"{route}    route: [{destination}]"
    )
