"""ServiceEntry ports: every port, targetPort and endpoint port is allowed for every host."""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import describe_ports, entries, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import ServiceEntrySubject
from webhook.resources.service_entry import ServicePort

RULE = "service-entry-ports"


def protocol_of(port: ServicePort) -> str | None:
    """The declared protocol, upper-cased as Istio parses it; None when undeclared."""
    return port.protocol.upper() if port.protocol else None


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A port the allowlist does not open for a host, including remapped endpoint ports."""
    spec = subject.spec
    hosts = [(h, entries(subject, h.lower())) for h in spec.hosts]
    hosts = [(h, found) for h, found in hosts if found]  # others fail service-entry-hosts
    if not spec.ports and hosts:
        yield Violation(RULE, "spec.ports", "a ServiceEntry for external hosts must declare ports")
    by_name = {p.name: p for p in spec.ports if p.name}
    for host, found in hosts:
        for j, port in enumerate(spec.ports):
            protocol = protocol_of(port)
            numbers = [("", port.number)]
            if port.target_port is not None and port.target_port != port.number:
                numbers.append((".targetPort", port.target_port))
            for suffix, number in numbers:
                if not port_allowed(found, number, protocol):
                    yield _violation(
                        f"spec.ports[{j}]{suffix or '.number'}", host, number, protocol, found
                    )
        for k, endpoint in enumerate(spec.endpoints):
            for name, number in endpoint.ports.items():
                named = by_name.get(name)
                if named is None or port_allowed(found, number, protocol_of(named)):
                    continue
                yield _violation(
                    f"spec.endpoints[{k}].ports[{name}]", host, number, protocol_of(named), found
                )


def _violation(
    field: str, host: str, number: int, protocol: str | None, found: tuple[AllowlistEntry, ...]
) -> Violation:
    shown = f"{number}/{protocol}" if protocol else f"{number} (protocol not declared)"
    hint = "" if protocol else "; declare the port's protocol"
    return Violation(
        RULE,
        field,
        f'port {shown} is not allowed for host "{host}" (allowed: {describe_ports(found)}){hint}',
    )
