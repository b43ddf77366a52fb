"""Scope: an object that uses a namespace-restricted entry is not exported beyond its namespaces.

exportTo defaults to every namespace ("*"), so an object for a restricted host must say
where it goes: ".", its own namespace, the entry's namespaces, or the egress gateway's.
Istio: ``exportTo`` in istio/api service_entry.proto, virtual_service.proto and
destination_rule.proto ("~" exports nowhere); an empty list takes the mesh defaults
``defaultServiceExportTo`` / ``defaultVirtualServiceExportTo`` /
``defaultDestinationRuleExportTo``, which are ``*`` unless set (pilot/pkg/model/
push_context.go, ``exportToDefaults``). A Service's scope is its
``networking.istio.io/exportTo`` annotation (pilot/pkg/serviceregistry/kube/conversion.go).

An object may act in fewer namespaces than its exportTo names (`Subject.applies_within`):
a DestinationRule for an exact restricted host applies only to ServiceEntries for that
host, which are themselves kept within the namespaces allowed to use it, so its default
exportTo shares nothing (destination_rules.py).

A ServiceEntry hands every namespace it is exported to the whole service: each of its
ports (and targetPorts, endpoint port maps) and addresses (push_context.go
``ServiceIndex``: one Service per hostname and visible namespace; the sidecars there get
a listener and cluster per port). So each namespace it reaches must itself be allowed
those ports and addresses for the host, by the entries it may use: an entry that opens
``api.example.com:8443`` for namespace a alone does not become usable from c because a
broader ``*.example.com`` entry opens port 443 to both (nor from every namespace because
an unrestricted entry opens 443).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from webhook.policy.allowlist import describe_ports, entries, ip_allowed, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.hosts import is_ip_literal
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import ServiceEntrySubject, Subject

RULE = "export-scope"


def check(subject: Subject[Any]) -> Iterator[Violation]:
    """An exportTo wider than the namespaces a restricted entry allows."""
    if isinstance(subject, ServiceEntrySubject):
        yield from _service_entry_reach(subject)
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
    within = subject.applies_within()
    if within is not None and within <= allowed:
        return  # it acts only where every name it uses is allowed (a DestinationRule's host)
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


def _service_entry_reach(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A port or address of the entry that a namespace it is exported to may not use."""
    own = {".", "~", subject.namespace, *subject.policy.egress_gateway_namespaces}
    narrower = []
    for k, target in enumerate(subject.export_to or ["*"]):
        if target in own:
            continue
        for host in dict.fromkeys(subject.exported_hosts()):
            found = entries(subject, host)
            if not found:
                continue  # not allowlisted here: reported by service-entry-hosts
            usable = _usable(subject, host, target)
            if not usable:
                continue  # the host itself is out of reach there: reported by check()
            if {id(e) for e in found} <= {id(e) for e in usable}:
                continue  # the target may use every entry this namespace may (most hosts)
            narrower.append((k, target, host, found, usable))
    if not narrower:
        return
    spec = subject.spec
    ports = [(port.number, port.effective_protocol, port.name) for port in spec.ports]
    ports += [
        (port.effective_target_port, port.effective_protocol, port.name)
        for port in spec.ports
        if port.effective_target_port != port.number
    ]
    ports += [
        (number, port.effective_protocol, name)
        for endpoint in spec.endpoints
        for name, number in endpoint.ports.items()
        for port in spec.ports
        if port.name == name
    ]
    ips = [a.strip("[]") for a in spec.addresses if is_ip_literal(a)]
    ips += [
        e.address.strip("[]")
        for e in spec.endpoints
        if e.address and is_ip_literal(e.address) and "/" not in e.address
    ]
    for k, target, host, found, usable in narrower:
        field = f"{subject.export_field}[{k}]" if subject.export_to else subject.export_field
        # Only what the entry may use itself: the rest is service-entry-ports' finding.
        for number, protocol, _name in dict.fromkeys(ports):
            if port_allowed(found, number, protocol) and not port_allowed(usable, number, protocol):
                shown = f"{number}/{protocol}" if protocol else f"{number}"
                yield Violation(
                    RULE,
                    field,
                    f'exportTo "{target}" shares port {shown} of host "{host}" with '
                    f"{_where(target)}, which may use only {describe_ports(usable)} "
                    'for it; export only to "." or the namespaces allowed that port',
                )
        for ip in dict.fromkeys(ips):
            if ip_allowed(found, ip) and not ip_allowed(usable, ip):
                yield Violation(
                    RULE,
                    field,
                    f'exportTo "{target}" shares address "{ip}" of host "{host}" with '
                    f"{_where(target)}, whose entries for it do not contain that address",
                )


def _usable(subject: ServiceEntrySubject, host: str, target: str) -> tuple[AllowlistEntry, ...]:
    """The entries for `host` that namespace `target` (``*``: every namespace) may use."""
    if target == "*":
        return tuple(e for e in subject.policy.entries_for(host) if e.namespaces is None)
    return subject.policy.entries_in(host, target)


def _where(target: str) -> str:
    return "every namespace" if target == "*" else f'namespace "{target}"'
