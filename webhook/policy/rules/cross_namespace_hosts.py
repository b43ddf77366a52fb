"""Cross-namespace hosts (advisory, with the cluster view): one external host, several owners.

Istio keys services by hostname. A ServiceEntry host exported beyond its namespace meets
the same host declared and exported by another namespace in every sidecar that sees both
(pilot/pkg/model/push_context.go, ``initServiceRegistry`` / ``ServiceIndex``: entries of a
hostname from different namespaces are merged or the oldest wins per namespace visibility),
so one tenant's ports, endpoints and resolution may silently be replaced by another's.
A VirtualService is applied for its hosts in every namespace it is exported to
(networking/v1 VirtualService.export_to; ``SidecarScope`` selects it by host), so one whose
host another namespace declares captures that namespace's routes for it. Both are
warnings at admission and ``warn`` results in the audit's PolicyReports, never denials:
the overlap may be intended (a platform team's shared entry).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from webhook.policy.decision import Violation
from webhook.policy.subject import ServiceEntrySubject, VirtualServiceSubject
from webhook.policy.view import Object, meta, spec_hosts, visible_to

RULE = "cross-namespace-hosts"
#: Other owners named per host: a message stays short however many there are.
MAX_NAMED = 3


def _exported_beyond(namespace: str, export_to: list[str] | None) -> bool:
    """True when exportTo reaches some namespace other than `namespace`."""
    if not export_to:
        return True
    return any(t not in (".", "~", namespace) for t in export_to)


def _named(others: Sequence[Object]) -> str:
    names = ", ".join(f"{o.get('kind')} {'/'.join(meta(o))}" for o in others[:MAX_NAMED])
    more = len(others) - MAX_NAMED
    return names + (f" and {more} more" if more > 0 else "")


def check_service_entry(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A host this entry exports beyond its namespace that another namespace also exports."""
    view, namespace = subject.view, subject.namespace
    if view is None or view.stale or subject.operation == "DELETE":
        return
    if not _exported_beyond(namespace, subject.export_to):
        return
    for index, host in enumerate(subject.exported_hosts()):
        others = [
            o
            for o in view.service_entries(host)
            if meta(o)[0] != namespace
            and host in spec_hosts(o)
            and _exported_beyond(meta(o)[0], (o.get("spec") or {}).get("exportTo"))
        ]
        if others:
            yield Violation(
                RULE,
                f"spec.hosts[{index}]",
                f'host "{host}" is also declared and exported by {_named(others)}: sidecars '
                "that see both merge them or keep the oldest, so this entry's ports, endpoints "
                'and resolution may not be the ones used. Set exportTo: ["."] or leave the '
                "host to one namespace",
                advisory=True,
            )


def check_virtual_service(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """A host this route exports to another namespace that declares it (captures its routes)."""
    view, namespace = subject.view, subject.namespace
    if view is None or view.stale or subject.operation == "DELETE":
        return
    export_to = subject.spec.export_to
    if not _exported_beyond(namespace, export_to):
        return
    me: Object = {"metadata": {"namespace": namespace}, "spec": {"exportTo": export_to}}
    for index, host in enumerate(h.lower() for h in subject.spec.hosts):
        owners = [
            o
            for o in view.service_entries(host)
            if meta(o)[0] != namespace and visible_to(me, meta(o)[0])
        ]
        if owners:
            yield Violation(
                RULE,
                f"spec.hosts[{index}]",
                f'host "{host}" is declared in another namespace ({_named(owners)}) that this '
                "VirtualService is exported to: its sidecars may follow these routes for their "
                'own host. Set exportTo: ["."] (or the namespaces meant to use it)',
                advisory=True,
            )
