"""Scope: an object that uses a namespace-restricted entry is not exported beyond its namespaces.

exportTo defaults to every namespace ("*"), so an object for a restricted host must say
where it goes: ".", its own namespace, the entry's namespaces, or the egress gateway's.
Istio: ``exportTo`` in istio/api service_entry.proto, virtual_service.proto and
destination_rule.proto ("~" exports nowhere); an empty list takes the mesh defaults
``defaultServiceExportTo`` / ``defaultVirtualServiceExportTo`` /
``defaultDestinationRuleExportTo``, which are ``*`` unless set (pilot/pkg/model/
push_context.go, ``exportToDefaults``). A Service's scope is its
``networking.istio.io/exportTo`` annotation (pilot/pkg/serviceregistry/kube/conversion.go).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from webhook.policy.allowlist import entries
from webhook.policy.decision import Violation
from webhook.policy.subject import Subject

RULE = "export-scope"


def check(subject: Subject[Any]) -> Iterator[Violation]:
    """An exportTo wider than the namespaces a restricted entry allows."""
    hosts = subject.exported_hosts()
    export_to = subject.export_to
    allowed: set[str] | None = None
    restricted_hosts = []
    for host in sorted(set(hosts)):
        found = entries(subject, host)
        if not found or any(e.namespaces is None for e in found):
            continue  # unrestricted (or not allowlisted: reported by another rule)
        namespaces = {ns for e in found for ns in e.namespaces or ()}
        allowed = namespaces if allowed is None else allowed & namespaces
        restricted_hosts.append(host)
    if allowed is None:
        return
    allowed |= {subject.namespace, *subject.policy.egress_gateway_namespaces}
    requested = export_to if export_to else ["*"]
    for k, target in enumerate(requested):
        namespace = subject.namespace if target == "." else target
        if target == "~" or namespace in allowed:
            continue
        field = f"{subject.export_field}[{k}]" if export_to else subject.export_field
        shown = '"*" (the default: every namespace)' if not export_to else f'"{target}"'
        yield Violation(
            RULE,
            field,
            f"exportTo {shown} shares {', '.join(restricted_hosts)} beyond the namespaces "
            f"allowed to use {'it' if len(restricted_hosts) == 1 else 'them'}; "
            f"export only to {', '.join(sorted({'.', *allowed}))}",
        )
