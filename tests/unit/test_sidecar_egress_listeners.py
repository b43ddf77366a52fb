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
        "a direct host's listener on a port its entry does not open",
        sidecar(egress=[listener(8443, "TLS", "*/assets.cdn.example.net")]),
        ["spec.egress[0].port"],
    ),
    (
        "a direct host's listener that also imports a gateway-required host",
        sidecar(egress=[listener(443, "TLS", "*/assets.cdn.example.net", "*/api.github.com")]),
        ["spec.egress[0].port"],
    ),
    (
        "a wildcard that overlaps a gateway-required host (*.googleapis.com)",
        sidecar(egress=[listener(443, "TLS", "*/*.googleapis.com")]),
        ["spec.egress[0].port"],
    ),
    (
        "a host off the allowlist",
        sidecar(egress=[listener(443, "TLS", "*/evil.example.org")]),
        ["spec.egress[0].port"],
    ),
    (
        "a host spelled in another case (imports compare case-sensitively)",
        sidecar(egress=[listener(443, "TLS", "*/Assets.cdn.example.net")]),
        ["spec.egress[0].port"],
    ),
    (
        "HTTP_PROXY over a direct host: it imports every port (needsPortMatch)",
        sidecar(egress=[listener(443, "HTTP_PROXY", "*/assets.cdn.example.net")]),
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
    (
        "sidecar reference (no-ip-tables): a loopback port for one host that needs no gateway",
        sidecar(
            egress=[
                {
                    **listener(443, "TLS", "*/assets.cdn.example.net"),
                    "captureMode": "NONE",
                    "bind": "127.0.0.1",
                }
            ]
        ),
    ),
    (
        "a port listener over in-cluster names only",
        sidecar(
            egress=[
                listener(9080, "HTTP", "prod-us1/ratings.prod-us1.svc.cluster.local"),
                listener(8080, "HTTP", "./*.svc.cluster.local", "~istio-system/*"),
                {"hosts": ["./*"]},
            ]
        ),
    ),
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
