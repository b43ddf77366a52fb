"""Coverage kept: changing or deleting a VirtualService must not uncover a live ServiceEntry.

The other half of gateway-coverage. With a cluster view, an UPDATE or DELETE of a
VirtualService is refused when some live ServiceEntry host and port that the egress
gateway must carry is covered now (by this VirtualService or another) and would not be
after the change. Delete the ServiceEntry first. Same modes as gateway-coverage
(egressGateway.coverage), and a stale view refuses the change (fail closed).

Istio: a sidecar picks the VirtualServices visible to its namespace (exportTo, in
pilot/pkg/model/push_context.go) whose hosts match a service (core/httproute.go
selectVirtualServices); with none left for a registered external host, the outbound
cluster of the ServiceEntry itself serves it, straight out (core/cluster_builder.go). So
the entry must stay covered in each namespace its exportTo reaches
(PushContext.IsServiceVisible), not only its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.coverage import guarded_ports, uncovered_namespace
from webhook.policy.decision import Violation
from webhook.policy.hosts import hosts_overlap
from webhook.policy.subject import VirtualServiceSubject
from webhook.policy.view import Object, export_to, meta, spec_hosts

RULE = "coverage-kept"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """A live ServiceEntry this change would leave without a route to the egress gateway."""
    view, policy = subject.view, subject.policy
    mode = policy.policy.egress_gateway.coverage
    if view is None or mode == "off" or subject.operation not in ("UPDATE", "DELETE"):
        return
    advisory = mode == "warn"
    me = (subject.namespace, subject.name)
    old = subject.old_object if subject.operation == "UPDATE" else None
    hosts = {h for h in (*spec_hosts(old or {}), *(h.lower() for h in subject.spec.hosts))}
    after: tuple[Object, ...] = ()
    if subject.operation == "UPDATE":
        after = (
            {
                "metadata": {"namespace": subject.namespace, "name": subject.name},
                "spec": subject.spec.model_dump(by_alias=True, exclude_none=True),
            },
        )
    entries = {meta(e): e for host in sorted(hosts) for e in view.service_entries(host)}
    if entries and view.stale:
        yield Violation(
            RULE,
            "metadata.name",
            "cannot check that live ServiceEntries stay covered: the webhook's view of the "
            f"cluster is stale ({view.stale_reason}); retry once /readyz reports it in sync",
            advisory=advisory,
        )
        return
    verb = "deleting" if subject.operation == "DELETE" else "this change to"
    for (namespace, name), entry in sorted(entries.items()):
        if namespace in policy.exempt_namespaces:
            continue
        for port in guarded_ports(entry, policy):
            if not any(hosts_overlap(port.host, h) for h in hosts):
                continue
            scope = export_to(entry)
            if uncovered_namespace(view, namespace, scope, port, policy) is not None:
                continue  # not covered now: this change does not uncover it
            if (
                uncovered_namespace(view, namespace, scope, port, policy, without=me, extra=after)
                is None
            ):
                continue
            yield Violation(
                RULE,
                "metadata.name",
                f"{verb} VirtualService {subject.namespace}/{subject.name} would leave "
                f'ServiceEntry {namespace}/{name} host "{port.host}" port {port.port} '
                "without a route to the egress gateway, so sidecars would reach it directly; "
                f"delete ServiceEntry {namespace}/{name} first (or keep a VirtualService "
                "that covers it)",
                advisory=advisory,
            )
            break
