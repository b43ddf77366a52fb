"""Coverage kept: changing or deleting a VirtualService or route must not uncover an entry.

The other half of gateway-coverage. With a cluster view, an UPDATE or DELETE of a
VirtualService, or of an HTTPRoute, GRPCRoute, TLSRoute or TCPRoute attached to a
ServiceEntry, is refused when some live ServiceEntry host and port that the egress gateway
must carry is covered now (by this object or another) and would not be after the change.
Delete the ServiceEntry first. Same modes as gateway-coverage (egressGateway.coverage), and
a stale view refuses the change (fail closed).

A Sidecar CREATE or UPDATE is judged the same way: its egress `hosts` choose the services
and the VirtualServices its pods import by the namespace each lives in
(convertIstioListenerToWrapper, selectServices and SelectVirtualServices in
pilot/pkg/model/), so ``hosts: ["./*"]`` keeps a ServiceEntry of its namespace and drops
the VirtualService of another namespace that sent it to the egress gateway: those pods
reach the host directly. Such a Sidecar is refused; import the VirtualService's namespace
too, or keep the VirtualService beside the ServiceEntry.

Istio: a sidecar picks the VirtualServices visible to its namespace (exportTo, in
pilot/pkg/model/push_context.go) whose hosts match a service (core/httproute.go
selectVirtualServices); with none left for a registered external host, the outbound
cluster of the ServiceEntry itself serves it, straight out (core/cluster_builder.go). So
the entry must stay covered in each namespace its exportTo reaches
(PushContext.IsServiceVisible), not only its own. A route attached to the entry is such a
VirtualService once Istio converts it (pilot/pkg/config/kube/gateway/route_collections.go).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from webhook.policy.coverage import (
    EVERY_NAMESPACE,
    GuardedPort,
    SidecarChange,
    audience,
    guarded_ports,
    uncovered_namespace,
)
from webhook.policy.decision import Violation
from webhook.policy.gateway_routes import GatewayRouteSubject
from webhook.policy.hosts import hosts_overlap
from webhook.policy.index import CompiledPolicy
from webhook.policy.subject import Subject, VirtualServiceSubject
from webhook.policy.view import (
    MeshView,
    Object,
    export_to,
    meta,
    service_entry_parents,
    spec_hosts,
)
from webhook.resources.sidecar import SidecarSpec

RULE = "coverage-kept"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """A live ServiceEntry this change would leave without a route to the egress gateway."""
    view = subject.view
    if not _applies(subject) or view is None:
        return
    old = subject.old_object if subject.operation == "UPDATE" else None
    hosts = {h for h in (*spec_hosts(old or {}), *(h.lower() for h in subject.spec.hosts))}
    entries = {meta(e): e for host in sorted(hosts) for e in view.service_entries(host)}
    yield from _kept(
        subject, "VirtualService", entries, lambda host: any(hosts_overlap(host, h) for h in hosts)
    )


def check_route(subject: GatewayRouteSubject) -> Iterator[Violation]:
    """A live ServiceEntry, named as a parent by this route (before or after the change),
    that the change would leave without a route to the egress gateway."""
    view = subject.view
    if not _applies(subject) or view is None:
        return
    old = subject.old_object if subject.operation == "UPDATE" else None
    after = {"metadata": {"namespace": subject.namespace}, "spec": _spec_of(subject)}
    parents = {*service_entry_parents(old or {}), *service_entry_parents(after)}
    entries = {
        parent: entry
        for parent in sorted(parents)
        if (entry := view.service_entry(*parent)) is not None
    }
    yield from _kept(subject, subject.kind, entries, lambda host: True)


def check_sidecar(subject: Subject[SidecarSpec]) -> Iterator[Violation]:
    """A live ServiceEntry this Sidecar would import without the VirtualService or route
    that sends it to the egress gateway.

    Only the pods of the Sidecar's namespace import differently, so each entry is judged
    there alone (coverage.SidecarChange), not in every namespace it reaches."""
    view, policy = subject.view, subject.policy
    mode = policy.policy.egress_gateway.coverage
    if view is None or mode == "off" or subject.operation not in ("CREATE", "UPDATE"):
        return
    if subject.namespace in policy.exempt_namespaces:
        return  # its pods are never judged (audience)
    names = {
        entry.split("/", 1)[1].lower()
        for listener in subject.spec.egress
        for entry in listener.hosts
        if entry.count("/") == 1 and not entry.startswith("~")
    } or {"*"}  # no egress listener: */* (initSidecarScopeInternalIndexes)
    names = {"*"} if "*" in names else names
    if len(names) == 1:
        entries = view.service_entries(names.pop())
    else:  # an entry may overlap several names: once each (the view's objects)
        entries = list({id(e): e for name in names for e in view.service_entries(name)}.values())
    advisory = mode == "warn"
    if view.stale and any(_reaches(e, subject.namespace, policy) for e in entries):
        yield _stale(view, advisory)
        return
    before = view.sidecars(subject.namespace)
    change = SidecarChange(
        view, subject.namespace, policy, before=before,
        after=[*(s for s in before if meta(s)[1] != subject.name), _after(subject, "Sidecar")],
    )  # fmt: skip
    found = [(meta(e), port) for e in entries if (port := change.uncovered(e)) is not None]
    for (namespace, name), port in sorted(found, key=lambda pair: pair[0]):
        yield _uncovered(subject, "Sidecar", namespace, name, port, advisory)


def _reaches(entry: Object, namespace: str, policy: CompiledPolicy) -> bool:
    """True when the ServiceEntry is visible to `namespace` (IsServiceVisible: a ``~``
    beside names does not hide it, unlike a VirtualService's)."""
    readers = audience(meta(entry)[0], export_to(entry), policy)
    return namespace in readers or EVERY_NAMESPACE in readers


def _applies(subject: Subject[Any]) -> bool:
    mode = subject.policy.policy.egress_gateway.coverage
    return subject.view is not None and mode != "off" and subject.operation in ("UPDATE", "DELETE")


def _spec_of(subject: Subject[Any]) -> dict[str, Any]:
    """The spec as the API server would store it (aliases, no unset fields)."""
    spec: dict[str, Any] = subject.spec.model_dump(by_alias=True, exclude_none=True)
    return spec


def _after(subject: Subject[Any], kind: str) -> Object:
    """The object as the change would leave it."""
    return {
        "kind": kind,
        "metadata": {"namespace": subject.namespace, "name": subject.name},
        "spec": _spec_of(subject),
    }


def _stale(view: MeshView, advisory: bool) -> Violation:
    return Violation(
        RULE,
        "metadata.name",
        "cannot check that live ServiceEntries stay covered: the webhook's view of the "
        f"cluster is stale ({view.stale_reason}); retry once /readyz reports it in sync",
        advisory=advisory,
    )


def _uncovered(
    subject: Subject[Any], kind: str, namespace: str, name: str, port: GuardedPort, advisory: bool
) -> Violation:
    verb = {"DELETE": "deleting", "CREATE": "creating"}.get(subject.operation, "this change to")
    return Violation(
        RULE,
        "metadata.name",
        f"{verb} {kind} {subject.namespace}/{subject.name} would leave "
        f'ServiceEntry {namespace}/{name} host "{port.host}" port {port.port} '
        "without a route to the egress gateway, so sidecars would reach it directly; "
        + (
            "import the namespace of the VirtualService or route that sends it "
            "to the egress gateway in every egress listener that imports it"
            if kind == "Sidecar"
            else f"delete ServiceEntry {namespace}/{name} first (or keep a "
            "VirtualService or route that covers it)"
        ),
        advisory=advisory,
    )


def _kept(
    subject: Subject[Any],
    kind: str,
    entries: dict[tuple[str, str], Object],
    touches: Callable[[str], bool],
) -> Iterator[Violation]:
    """The findings for `entries` (live ServiceEntries the change may touch), `touches`
    saying which of their hosts it may."""
    view, policy = subject.view, subject.policy
    assert view is not None
    advisory = policy.policy.egress_gateway.coverage == "warn"
    me = (kind, subject.namespace, subject.name)
    after = () if subject.operation == "DELETE" else (_after(subject, kind),)
    if entries and view.stale:
        yield _stale(view, advisory)
        return
    for (namespace, name), entry in sorted(entries.items()):
        if namespace in policy.exempt_namespaces:
            continue
        for port in guarded_ports(entry, policy):
            if not touches(port.host):
                continue
            scope = export_to(entry)
            if uncovered_namespace(view, namespace, scope, port, policy, name=name) is not None:
                continue  # not covered now: this change does not uncover it
            if (
                uncovered_namespace(
                    view, namespace, scope, port, policy, name=name, without=me, extra=after
                )
                is None
            ):
                continue
            yield _uncovered(subject, kind, namespace, name, port, advisory)
            break
