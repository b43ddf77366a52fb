"""ServiceEntries that only name their namespace's mesh workloads: no egress, no capture."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import decide, service_entry

VM_PORTS = [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 8080}]


def _vm_entry(host: str = "details.bookinfo.com", **spec: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "location": "MESH_INTERNAL",
        "resolution": "STATIC",
        "ports": VM_PORTS,
        "workloadSelector": {"labels": {"app": "details-legacy"}},
        **spec,
    }
    fields = {k: v for k, v in fields.items() if v is not None}  # None: leave the field out
    return service_entry("bookinfo", hosts=[host], **fields)


@pytest.mark.parametrize(
    ("obj", "allowed"),
    [
        # Ordinary: the WorkloadEntry reference's VM service (its WorkloadEntries are judged).
        pytest.param(_vm_entry(), True, id="vm-service"),
        pytest.param(_vm_entry(resolution="DNS"), True, id="vm-service-dns"),
        # Doors: a selector entry that names an allowlisted host captures its traffic for the
        # tenant's pods (exported everywhere by default); wildcards overlap; endpoints or
        # addresses of its own are not the selected workloads; MESH_EXTERNAL is egress.
        pytest.param(_vm_entry("api.github.com"), False, id="captures-allowlisted-host"),
        pytest.param(_vm_entry("x.googleapis.com"), False, id="inside-allowlisted-wildcard"),
        pytest.param(_vm_entry("*.bookinfo.com"), False, id="wildcard"),
        pytest.param(_vm_entry("Details.bookinfo.com"), False, id="upper-case"),
        pytest.param(_vm_entry(endpoints=[{"address": "8.8.8.8"}]), False, id="own-endpoints"),
        pytest.param(_vm_entry(addresses=["8.8.8.8/32"]), False, id="own-addresses"),
        pytest.param(_vm_entry(location="MESH_EXTERNAL"), False, id="mesh-external"),
        # Doors: NONE (the default; Istio only warns with a selector) is an ORIGINAL_DST
        # cluster at the sidecars (convertResolution, pilot/pkg/networking/core/cluster.go):
        # the host's listener forwards to the IP the application dialled, on TCP any IP.
        # DYNAMIC_DNS connects to whatever name the request carries.
        pytest.param(_vm_entry(resolution=None), False, id="resolution-none-default"),
        pytest.param(_vm_entry(resolution="NONE"), False, id="resolution-none"),
        pytest.param(
            _vm_entry(
                "evil.example.org",
                resolution=None,
                ports=[{"number": 443, "name": "tcp", "protocol": "TCP"}],
            ),
            False,
            id="resolution-none-tcp",
        ),
        pytest.param(_vm_entry(resolution="DYNAMIC_DNS"), False, id="resolution-dynamic-dns"),
        pytest.param(_vm_entry(resolution="DNS_ROUND_ROBIN"), True, id="vm-service-dns-rr"),
        pytest.param(
            _vm_entry("istio-egressgateway.istio-system.svc.cluster.local"),
            False,
            id="egress-gateway-name",
        ),
        pytest.param(_vm_entry("payments.payments.svc.cluster.local"), False, id="in-cluster-name"),
    ],
)
def test_vm_service_entries(obj: dict[str, Any], allowed: bool) -> None:
    decision = decide(obj)
    assert decision.handled
    assert "schema" not in decision.rules_hit
    assert decision.allowed is allowed, decision.message()


UDS = [{"address": "unix:///var/run/example/socket"}]


def _socket_entry(host: str = "example.unix.local", **spec: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "location": "MESH_EXTERNAL",
        "resolution": "STATIC",
        "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
        "endpoints": UDS,
        **spec,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    return service_entry(hosts=[host], **fields)


@pytest.mark.parametrize(
    ("obj", "allowed"),
    [
        # Ordinary: the ServiceEntry reference's unix-domain-socket-example (a pipe address
        # in the caller's own pod: BuildAddress, pilot/pkg/networking/util/util.go).
        pytest.param(_socket_entry(), True, id="uds-only"),
        pytest.param(_socket_entry(location="MESH_INTERNAL"), True, id="uds-mesh-internal"),
        pytest.param(
            _socket_entry(endpoints=[*UDS, {"address": "unix://@abstract"}]), True, id="two-uds"
        ),
        # Doors nearby: an IP or name endpoint beside the socket leaves the pod; a network
        # is another network's gateway; addresses bind listeners; an allowlisted (or
        # in-cluster, or the gateway's) name would be captured from its real destination;
        # NONE and DNS are not the socket; a selector brings other endpoints.
        pytest.param(_socket_entry(endpoints=[*UDS, {"address": "8.8.8.8"}]), False, id="uds-ip"),
        pytest.param(
            _socket_entry(endpoints=[*UDS, {"address": "evil.example.org"}], resolution="DNS"),
            False,
            id="uds-and-name-dns",
        ),
        pytest.param(
            _socket_entry(endpoints=[{**UDS[0], "network": "n2"}]), False, id="uds-network"
        ),
        pytest.param(_socket_entry(addresses=["8.8.8.8"]), False, id="uds-addresses"),
        pytest.param(_socket_entry("api.github.com"), False, id="uds-allowlisted-host"),
        pytest.param(_socket_entry("*.unix.local"), False, id="uds-wildcard"),
        pytest.param(_socket_entry("Example.unix.local"), False, id="uds-upper-case"),
        pytest.param(
            _socket_entry("reviews.default.svc.cluster.local"), False, id="uds-in-cluster-name"
        ),
        pytest.param(_socket_entry(resolution=None), False, id="uds-resolution-none"),
        pytest.param(
            _socket_entry(workloadSelector={"labels": {"app": "x"}}), False, id="uds-selector"
        ),
        pytest.param(_socket_entry(endpoints=[]), False, id="no-endpoints"),
    ],
)
def test_socket_service_entries(obj: dict[str, Any], allowed: bool) -> None:
    decision = decide(obj)
    assert decision.handled
    assert "schema" not in decision.rules_hit
    assert decision.allowed is allowed, decision.message()
