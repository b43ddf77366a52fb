"""ServiceEntry ports: every port, targetPort and endpoint port is allowed for every host.

Istio (istio/api service_entry.proto ServicePort.number/targetPort, WorkloadEntry.ports)
sends traffic for ``number`` to each endpoint on ``targetPort`` (0 means the same port)
or on the endpoint's own port map for that port's name (serviceentry/conversion.go).

An endpoint given by host name receives the traffic itself, so its own allowlist entry must
allow each port too.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import describe_ports, entries, external_host_problem, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.hosts import is_ip_literal
from webhook.policy.model import AllowlistEntry
from webhook.policy.subject import ServiceEntrySubject

RULE = "service-entry-ports"


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A port the allowlist does not open for a host, including remapped endpoint ports."""
    spec = subject.spec
    hosts = [(h, entries(subject, h.lower())) for h in spec.hosts]
    hosts = [(h, found) for h, found in hosts if found]  # others fail service-entry-hosts
    if not spec.ports and hosts:
        yield Violation(RULE, "spec.ports", "a ServiceEntry for external hosts must declare ports")
    for host, found in hosts:
        for j, port in enumerate(spec.ports):
            protocol = port.effective_protocol
            numbers = [("", port.number)]
            if port.effective_target_port != port.number:
                numbers.append((".targetPort", port.effective_target_port))
            for suffix, number in numbers:
                if not port_allowed(found, number, protocol):
                    yield _violation(
                        f"spec.ports[{j}]{suffix or '.number'}", host, number, protocol, found
                    )
        for k, endpoint in enumerate(spec.endpoints):
            for name, number in endpoint.ports.items():
                # Every port of that name is remapped (names should be unique, but Istio
                # reads them one by one).
                for named in (p for p in spec.ports if p.name == name):
                    if not port_allowed(found, number, named.effective_protocol):
                        yield _violation(
                            f"spec.endpoints[{k}].ports[{name}]",
                            host,
                            number,
                            named.effective_protocol,
                            found,
                        )
    yield from _endpoint_host_ports(subject)


def _endpoint_host_ports(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """An endpoint host name receives the bytes: its own entry must allow each port.

    Names that are not allowlisted at all are reported by service-entry-endpoints.
    """
    spec = subject.spec
    checked = {entries(subject, h.lower()) for h in spec.hosts}  # by check() already
    for k, endpoint in enumerate(spec.endpoints):
        address = endpoint.address or ""
        if not address or address.startswith("unix://") or is_ip_literal(address):
            continue
        if external_host_problem(subject, address, address.lower()) is not None:
            continue
        found = entries(subject, address.lower())
        if found in checked:
            continue
        for port in spec.ports:
            number = endpoint.ports.get(port.name, port.effective_target_port)
            if not port_allowed(found, number, port.effective_protocol):
                yield _violation(
                    f"spec.endpoints[{k}].address", address, number, port.effective_protocol, found
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
