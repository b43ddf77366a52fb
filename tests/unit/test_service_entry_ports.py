"""service-entry-ports: ports, protocols, targetPort and endpoint port maps are allowlisted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import findings, service_entry, tls_service_entry
from webhook.policy.rules.service_entry_ports import RULE


def _port(number: int, protocol: str | None = None, **extra: Any) -> dict[str, Any]:
    port: dict[str, Any] = {"number": number, "name": f"p{number}", **extra}
    if protocol is not None:
        port["protocol"] = protocol
    return port


def _fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in findings(RULE, obj)]


@pytest.mark.parametrize(
    ("ports", "denied_fields"),
    [
        pytest.param([_port(443, "TLS")], [], id="443-TLS"),
        pytest.param([_port(443, "HTTPS")], [], id="443-HTTPS"),
        pytest.param([_port(443, "tls")], [], id="protocol-case-folded-as-istio-parses-it"),
        pytest.param([_port(443, "TLS", targetPort=443)], [], id="targetPort-same"),
        pytest.param([_port(443, "HTTP")], ["spec.ports[0].number"], id="protocol-not-allowed"),
        pytest.param([_port(443, "TCP")], ["spec.ports[0].number"], id="tcp-on-tls-only-port"),
        pytest.param([_port(8443, "TLS")], ["spec.ports[0].number"], id="port-not-allowed"),
        pytest.param([_port(443)], ["spec.ports[0].number"], id="undeclared-protocol"),
        pytest.param(
            [_port(443, "TLS", targetPort=22)], ["spec.ports[0].targetPort"], id="targetPort-to-ssh"
        ),
        pytest.param(
            [_port(443, "TLS"), _port(22, "TCP")], ["spec.ports[1].number"], id="extra-port"
        ),
    ],
)
def test_exact_host_ports(ports: list[dict[str, Any]], denied_fields: list[str]) -> None:
    assert _fields(tls_service_entry("api.github.com", ports=ports)) == denied_fields


def test_any_protocol_entry_accepts_undeclared_protocol() -> None:
    obj = tls_service_entry("x.googleapis.com", ports=[_port(443)])
    assert _fields(obj) == []


def test_undeclared_protocol_message_says_to_declare_it() -> None:
    [violation] = [
        v for v in findings(RULE, tls_service_entry("api.github.com", ports=[_port(443)]))
    ]
    assert "declare the port's protocol" in violation.message
    assert "443/TLS,HTTPS" in violation.message


def test_endpoint_port_map_cannot_remap_to_another_port() -> None:
    obj = service_entry(
        "payments",
        hosts=["db.example.com"],
        exportTo=["."],
        ports=[{"number": 5432, "name": "tcp-postgres", "protocol": "TCP"}],
        resolution="STATIC",
        endpoints=[
            {"address": "192.168.1.10", "ports": {"tcp-postgres": 5432}},
            {"address": "192.168.1.11", "ports": {"tcp-postgres": 22}},
        ],
    )
    assert _fields(obj) == ["spec.endpoints[1].ports[tcp-postgres]"]


def test_target_port_zero_is_unset() -> None:
    # proto3: 0 is the unset value, and Istio then sends to `number` (ServicePort.target_port).
    obj = tls_service_entry("api.github.com", ports=[_port(443, "TLS", targetPort=0)])
    assert _fields(obj) == []


def test_endpoint_port_map_applies_to_every_port_of_that_name() -> None:
    # Door: WorkloadEntry.ports maps a port *name* to the endpoint's port. With two ports
    # named alike, both are remapped; checking only the last one let plain HTTP reach 443,
    # which the allowlist opens to TLS only.
    obj = service_entry(
        hosts=["httpbin.org"],
        resolution="DNS",
        ports=[
            {"number": 80, "name": "web", "protocol": "HTTP"},
            {"number": 443, "name": "web", "protocol": "TLS"},
        ],
        endpoints=[{"address": "httpbin.org", "ports": {"web": 443}}],
    )
    assert _fields(obj) == ["spec.endpoints[0].ports[web]"]


def test_endpoint_host_name_gets_only_its_own_ports() -> None:
    # Door: an endpoint host name receives the bytes (ServiceEntry.endpoints, resolution
    # DNS), so its own allowlist entry must allow each port and protocol, not only the
    # entry of the host the ServiceEntry names. api.github.com allows 443 for TLS/HTTPS,
    # never plain TCP.
    obj = service_entry(
        hosts=["x.googleapis.com"],
        resolution="DNS",
        ports=[{"number": 443, "name": "tcp", "protocol": "TCP"}],
        endpoints=[{"address": "api.github.com"}],
    )
    assert _fields(obj) == ["spec.endpoints[0].address"]


def test_service_entry_without_ports_is_refused() -> None:
    obj = service_entry(hosts=["api.github.com"], resolution="DNS")
    assert _fields(obj) == ["spec.ports"]
