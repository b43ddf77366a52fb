"""sidecar-egress-listeners: egress hosts narrow imports; a listener port re-declares them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import decide, findings
from tests.unit.sidecar_envoy_filter_objects import sidecar
from webhook.policy.rules.sidecar_egress_listeners import RULE


def listener(number: int, protocol: str, *hosts: str) -> dict[str, Any]:
    """An egress listener with its own port."""
    name = f"{protocol.lower().replace('_', '-')}-{number}"
    return {"port": {"number": number, "protocol": protocol, "name": name}, "hosts": list(hosts)}


BYPASSES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "TCP on 443: the admin's tls: route to the gateway no longer matches",
        sidecar(
            egress=[{**listener(443, "TCP", "istio-system/api.github.com"), "bind": "0.0.0.0"}]
        ),
        ["spec.egress[0].port"],
    ),
    (
        "TLS on another port: the VirtualService's match.port 443 no longer matches",
        sidecar(egress=[listener(8443, "TLS", "*/api.github.com")]),
        ["spec.egress[0].port"],
    ),
    (
        "HTTP on 443 for a TLS host: plaintext to outbound|443 around the gateway",
        sidecar(egress=[listener(443, "HTTP", "*/api.github.com")]),
        ["spec.egress[0].port"],
    ),
    (
        "bound loopback socket for a NONE-resolution host",
        sidecar(
            egress=[
                {
                    **listener(443, "TLS", "./passthrough.example"),
                    "captureMode": "NONE",
                    "bind": "127.0.0.1",
                }
            ]
        ),
        ["spec.egress[0].port"],
    ),
    (
        "explicit HTTP proxy over every host",
        sidecar(egress=[{**listener(8080, "HTTP_PROXY", "*/*"), "captureMode": "NONE"}]),
        ["spec.egress[0].port"],
    ),
    (
        "unix socket listener",
        sidecar(
            egress=[
                {
                    "port": {"number": 0, "protocol": "HTTP", "name": "uds"},
                    "bind": "unix:///var/run/out.sock",
                    "hosts": ["*/*"],
                }
            ]
        ),
        ["spec.egress[0].port"],
    ),
    (
        "a port listener before an innocent catch-all",
        sidecar(
            egress=[listener(9000, "TCP", "*/*.partner.example.com"), {"hosts": ["./*"]}],
        ),
        ["spec.egress[0].port"],
    ),
    (
        "istio.io sidecar reference (ratings): HTTP 9080 over a namespace's imports",
        sidecar(
            "prod-us1",
            "ratings",
            workloadSelector={"labels": {"app": "ratings"}},
            egress=[listener(9080, "HTTP", "prod-us1/*"), {"hosts": ["istio-system/*"]}],
        ),
        ["spec.egress[0].port"],
    ),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    ("own namespace and istio-system", sidecar(egress=[{"hosts": ["./*", "istio-system/*"]}])),
    ("*/*: only what exportTo already shows", sidecar(egress=[{"hosts": ["*/*"]}])),
    (
        "configuration scoping: one egress gateway host",
        sidecar(
            egress=[
                {
                    "hosts": [
                        "./*",
                        "istio-system/istio-egressgateway.istio-system.svc.cluster.local",
                    ]
                }
            ]
        ),
    ),
    ("exclusions narrow further", sidecar(egress=[{"hosts": ["*/*", "~istio-system/*"]}])),
    (
        "catch-all with captureMode NONE: same routes, sockets on loopback",
        sidecar(egress=[{"hosts": ["./*"], "captureMode": "NONE"}]),
    ),
    (
        "sidecar reference: ingress to a local endpoint",
        sidecar(
            workloadSelector={"labels": {"app": "ratings"}},
            ingress=[
                {
                    "port": {"number": 9080, "protocol": "HTTP", "name": "somename"},
                    "defaultEndpoint": "127.0.0.1:8080",
                }
            ],
            egress=[{"hosts": ["./*"]}],
        ),
    ),
    (
        "ingress with TLS termination at the sidecar",
        sidecar(
            ingress=[
                {
                    "port": {"number": 8443, "protocol": "HTTPS", "name": "https"},
                    "defaultEndpoint": "0.0.0.0:8080",
                    "tls": {
                        "mode": "SIMPLE",
                        "privateKey": "/etc/certs/key.pem",
                        "serverCertificate": "/etc/certs/cert.pem",
                    },
                }
            ]
        ),
    ),
    ("a Sidecar that only selects pods", sidecar(workloadSelector={"labels": {"app": "a"}})),
]


@pytest.mark.parametrize(("why", "obj", "fields"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypasses_are_refused(why: str, obj: dict[str, Any], fields: list[str]) -> None:
    assert [v.field for v in findings(RULE, obj)] == fields


@pytest.mark.parametrize(("why", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_ordinary_sidecars_pass(why: str, obj: dict[str, Any]) -> None:
    assert decide(obj).allowed, decide(obj).violations


def test_the_message_names_the_port_and_the_fix() -> None:
    (found,) = findings(RULE, sidecar(egress=[listener(443, "TCP", "*/api.github.com")]))
    assert "443/TCP" in found.message
    assert "around the egress gateway" in found.message
    assert "remove port (and bind/captureMode) and list only hosts" in found.message


def test_a_unix_socket_is_named_by_its_path() -> None:
    obj = sidecar(
        egress=[{"port": {"number": 0, "protocol": "HTTP"}, "bind": "unix:///s", "hosts": ["*/*"]}]
    )
    (found,) = findings(RULE, obj)
    assert 'unix socket "unix:///s"' in found.message
