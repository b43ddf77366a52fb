"""service-entry-resolution: only resolutions that send bytes to the allowlisted name pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import decide, findings, service_entry
from webhook.policy.rules.service_entry_resolution import RULE


def _se(
    host: str, resolution: str | None, protocol: str | None, port: int = 443, **spec: Any
) -> Any:
    port_spec: dict[str, Any] = {"number": port, "name": "p"}
    if protocol:
        port_spec["protocol"] = protocol
    if resolution is not None:
        spec["resolution"] = resolution
    namespace = spec.pop("namespace", "default")
    return service_entry(namespace, hosts=[host], ports=[port_spec], **spec)


def _denied(obj: Any) -> bool:
    return any(findings(RULE, obj))


STATIC_DB = {"namespace": "payments", "exportTo": ["."], "endpoints": [{"address": "192.168.1.10"}]}
STATIC_PARTNER = {"endpoints": [{"address": "10.20.3.4"}]}
PAYMENTS = {"namespace": "payments", "exportTo": ["."]}


@pytest.mark.parametrize(
    ("obj", "denied"),
    [
        # Exact hosts: DNS, or STATIC when the entry names networks.
        pytest.param(_se("api.github.com", "DNS", "TLS"), False, id="exact-DNS"),
        pytest.param(_se("api.github.com", "DNS_ROUND_ROBIN", "TLS"), False, id="exact-DNS_RR"),
        pytest.param(_se("api.github.com", None, "TLS"), True, id="exact-default-is-NONE"),
        pytest.param(_se("api.github.com", "NONE", "TLS"), True, id="exact-NONE"),
        pytest.param(_se("api.github.com", "DYNAMIC_DNS", "TLS"), True, id="exact-DYNAMIC_DNS"),
        pytest.param(
            _se("api.github.com", "STATIC", "TLS", endpoints=[{"address": "140.82.112.5"}]),
            True,
            id="exact-STATIC-without-cidrs",
        ),
        pytest.param(
            _se("db.example.com", "STATIC", "TCP", 5432, **STATIC_DB),
            False,
            id="exact-STATIC-cidrs",
        ),
        pytest.param(
            _se("db.example.com", "NONE", "TCP", 5432, namespace="payments", exportTo=["."]),
            True,
            id="exact-NONE-even-with-cidrs",
        ),
        # Wildcards: the proxy must see the name, or the IPs must be inside the entry's CIDRs.
        pytest.param(_se("*.googleapis.com", "NONE", "TLS"), False, id="wild-NONE-TLS"),
        pytest.param(
            _se("*.googleapis.com", "DYNAMIC_DNS", "HTTPS"), False, id="wild-DYNAMIC_DNS-HTTPS"
        ),
        pytest.param(_se("*.googleapis.com", "NONE", "HTTP2"), False, id="wild-NONE-HTTP2"),
        pytest.param(_se("*.googleapis.com", None, "TLS"), False, id="wild-default-NONE-TLS"),
        pytest.param(_se("*.googleapis.com", "NONE", "TCP"), True, id="wild-NONE-TCP"),
        pytest.param(_se("*.googleapis.com", "NONE", None), True, id="wild-NONE-undeclared"),
        pytest.param(
            _se("*.googleapis.com", "DYNAMIC_DNS", "MONGO"), True, id="wild-DYNAMIC_DNS-MONGO"
        ),
        pytest.param(_se("*.googleapis.com", "DNS", "TLS"), True, id="wild-DNS-cannot-resolve"),
        pytest.param(
            _se("*.googleapis.com", "STATIC", "TLS", endpoints=[{"address": "8.8.8.8"}]),
            True,
            id="wild-STATIC-no-cidrs",
        ),
        pytest.param(
            _se("*.partner.example.com", "STATIC", "TCP", 9000, **STATIC_PARTNER),
            False,
            id="wild-STATIC-cidrs",
        ),
        pytest.param(
            _se("*.partner.example.com", "NONE", "TCP", 9000),
            True,
            id="wild-NONE-TCP-even-with-cidrs",
        ),
        pytest.param(_se("x.googleapis.com", "DNS", "TLS"), False, id="exact-under-wildcard-DNS"),
        # NONE with addresses: a TCP/TLS (or undeclared) port's sidecar listener is bound to
        # them (buildSidecarOutboundListener, listener.go: the IP, or 0.0.0.0 with a
        # filter-chain match on the CIDR), so original-destination forwarding reaches only
        # them. Istio's "Using an External HTTPS Proxy" task; this was refused before.
        pytest.param(
            _se("db.example.com", "NONE", "TCP", 5432, addresses=["192.168.1.7/32"], **PAYMENTS),
            False,
            id="exact-NONE-TCP-address-in-cidrs",
        ),
        pytest.param(
            _se("db.example.com", None, "TCP", 5432, addresses=["192.168.1.0/28"], **PAYMENTS),
            False,
            id="exact-default-NONE-TCP-cidr-in-cidrs",
        ),
        pytest.param(
            _se("*.partner.example.com", "NONE", "TCP", 9000, addresses=["10.20.0.0/24"]),
            False,
            id="wild-NONE-TCP-addresses-in-cidrs",
        ),
        pytest.param(
            _se("*.partner.example.com", "NONE", None, 9000, addresses=["10.20.1.1"]),
            False,
            id="wild-NONE-undeclared-addresses",
        ),
        # An HTTP port listens on 0.0.0.0 and routes by Host whatever the addresses say.
        pytest.param(
            _se("httpbin.org", "NONE", "HTTP", 80, addresses=["10.20.1.1"]),
            True,
            id="exact-NONE-HTTP-addresses-do-not-bind",
        ),
        pytest.param(
            _se("db.example.com", "NONE", "TCP", 5432, **PAYMENTS),
            True,
            id="exact-NONE-TCP-without-addresses",
        ),
        pytest.param(
            _se("*.partner.example.com", "DYNAMIC_DNS", "TCP", 9000, addresses=["10.20.1.1"]),
            True,
            id="wild-DYNAMIC_DNS-TCP-addresses-still-blind",
        ),
    ],
)
def test_resolution(obj: Any, denied: bool) -> None:
    assert _denied(obj) is denied


def test_none_message_says_why_and_what_to_use() -> None:
    [violation] = [v for v in findings(RULE, _se("api.github.com", None, "TLS"))]
    assert violation.field == "spec.resolution"
    assert "NONE (the default)" in violation.message
    assert "forwards to whatever IP the application dialled" in violation.message
    assert "use resolution DNS" in violation.message


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"location": "MESH_INTERNAL"}, "spec.location"),
        ({"workloadSelector": {"labels": {"app": "tenant-proxy"}}}, "spec.workloadSelector"),
    ],
)
def test_location_and_workload_selector(spec: dict[str, Any], field: str) -> None:
    obj = _se("api.github.com", "DNS", "TLS", **spec)
    assert [v.field for v in findings(RULE, obj)] == [field]


def test_explicit_mesh_external_passes() -> None:
    assert decide(_se("api.github.com", "DNS", "TLS", location="MESH_EXTERNAL")).allowed


def test_wildcard_with_none_is_allowed_with_advice_to_use_dynamic_dns() -> None:
    decision = decide(_se("*.googleapis.com", None, "TLS"))
    assert decision.allowed
    assert decision.violations == ()
    [warning] = decision.warnings
    assert "prefer DYNAMIC_DNS" in warning
    assert warning.endswith(f"[{RULE}]")


def test_dynamic_dns_gets_no_advice() -> None:
    decision = decide(_se("*.googleapis.com", "DYNAMIC_DNS", "TLS"))
    assert decision.allowed
    assert decision.warnings == ()


def test_addresses_outside_the_cidrs_stay_refused_by_service_entry_endpoints() -> None:
    obj = _se("db.example.com", "NONE", "TCP", 5432, addresses=["203.0.113.9/32"], **PAYMENTS)
    decision = decide(obj)
    assert not findings(RULE, obj)
    assert decision.rules_hit == ("service-entry-endpoints",)


def test_none_on_an_http_port_says_which_port_is_not_bound() -> None:
    obj = service_entry(
        hosts=["httpbin.org"],
        addresses=["10.20.1.1"],
        ports=[
            {"number": 80, "name": "http", "protocol": "HTTP"},
            {"number": 443, "name": "tls", "protocol": "TLS"},
        ],
    )
    [violation] = findings(RULE, obj)
    assert "forwards to whatever IP the application dialled on port 80/HTTP" in violation.message
