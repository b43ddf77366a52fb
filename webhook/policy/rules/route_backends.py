"""Route backends: every external host a route, mirror or auth filter sends to is allowlisted.

Istio 1.28 buildDestination (pilot/pkg/config/kube/gateway/conversion.go) routes a
``networking.istio.io`` ``Hostname`` backend to that literal host once any registry
service visible to the route's namespace has it (an external ServiceEntry), with no
ReferenceGrant; createMirrorFilter builds mirrors the same way. Such a host must be
allowlisted for the namespace, on the backend's port. A backend kind the webhook cannot
place (not a Service, Hostname, ServiceImport or InferencePool: e.g. the XBackend
``ExternalHostname`` that newer Istio reads) is refused, since it may lead anywhere.

A route at sidecars that goes straight out carries its Host rewrites with it, so the
rewritten name must be allowlisted too; so must that of a route, at any parent, to an
egress gateway Service, which picks the external host by the Host it receives
(createHeadersFilter and createRewriteFilter make them headers.request and
rewrite.authority, TranslateHeadersOperations a host_rewrite; external-destinations
judges a VirtualService's the same way). A producer route (its Service/ServiceEntry
parent lives in the route's namespace) applies to that parent's clients in every
namespace (Istio imports it for them), so it may not send to a host allowlisted only
for some namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import describe_ports, entries, external_host_problem, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.gateway_routes import Backend, GatewayRouteSubject

RULE = "route-backends"


def check(subject: GatewayRouteSubject) -> Iterator[Violation]:
    """An unplaceable backend, or an external one the namespace may not reach on that port."""
    mesh = [p for p in subject.parents if p.scope == "mesh"]
    gateways = subject.gateway_services()
    producer = next((p for p in mesh if p.ref.split("/", 1)[0] == subject.namespace), None)
    for rule in subject.rules:
        for backend in rule.backends:
            if backend.kind == "unknown":
                yield Violation(
                    RULE,
                    backend.field,
                    f'backend "{backend.raw}" is not a kind Istio routes to inside the cluster '
                    "(Service, ServiceImport, InferencePool) or a networking.istio.io Hostname; "
                    "the webhook cannot tell where it sends traffic",
                )
            elif backend.external:
                yield from _external(subject, backend)
                found = entries(subject, backend.host)
                if producer is not None and found and all(e.namespaces for e in found):
                    namespaces = sorted({ns for e in found for ns in e.namespaces or ()})
                    yield Violation(
                        RULE,
                        backend.field,
                        f'sends clients of {producer.described} in every namespace to "'
                        f'{backend.raw}", which only namespaces {", ".join(namespaces)} may '
                        "reach; attach the route to a parent in another namespace (a consumer "
                        "route applies to this namespace only)",
                    )
        outward = any(
            not b.mirror and ((mesh and b.external) or b.host in gateways) for b in rule.backends
        )
        for rewrite in rule.authority_rewrites if outward else ():
            problem = external_host_problem(subject, rewrite.value, rewrite.value.lower())
            if problem is not None:
                yield Violation(
                    RULE, rewrite.field, f"Host rewrite on a route sent outside: {problem}"
                )


def _external(subject: GatewayRouteSubject, backend: Backend) -> Iterator[Violation]:
    problem = external_host_problem(subject, backend.raw, backend.host)
    if problem is not None:
        yield Violation(RULE, backend.field, f"backend {problem}")
        return
    found = entries(subject, backend.host)
    if backend.port is not None and not port_allowed(found, backend.port, None, any_protocol=True):
        yield Violation(
            RULE,
            backend.field.removesuffix(".name") + ".port",
            f'port {backend.port} is not allowed for host "{backend.raw}" '
            f"(allowed: {describe_ports(found)})",
        )
