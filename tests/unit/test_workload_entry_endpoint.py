"""workload-entry-endpoint: a WorkloadEntry's address is one its namespace may send traffic to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_objects import ENDPOINTS_POLICY, workload_entry
from tests.unit.istio_objects import findings
from webhook.policy.rules.workload_entry_endpoint import RULE

ADDRESS = "spec.address"
APP = {"app": "x"}


def _fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in findings(RULE, obj, ENDPOINTS_POLICY)]


BYPASSES = [
    # A Service selecting app=x sends x.default.svc.cluster.local's traffic to these.
    pytest.param(workload_entry(address="203.0.113.99", labels=APP), [ADDRESS], id="public-ip"),
    pytest.param(workload_entry(address="2001:db8::1", labels=APP), [ADDRESS], id="public-ipv6"),
    pytest.param(workload_entry(address="169.254.169.254", labels=APP), [ADDRESS], id="metadata"),
    pytest.param(workload_entry(address="127.0.0.1", labels=APP), [ADDRESS], id="loopback"),
    pytest.param(workload_entry(address="0.0.0.0", labels=APP), [ADDRESS], id="unspecified"),
    pytest.param(workload_entry(address="203.0.113.99"), [ADDRESS], id="no-labels-still-judged"),
    pytest.param(workload_entry(address="10.0.0.0/8", labels=APP), [ADDRESS], id="cidr"),
    pytest.param(workload_entry(address="10.96.0.0/12", labels=APP), [ADDRESS], id="internal-cidr"),
    # A DNS ServiceEntry selecting app=x resolves these.
    pytest.param(workload_entry(address="evil.example.org", labels=APP), [ADDRESS], id="dns-name"),
    pytest.param(
        workload_entry(address="api.github.com", labels=APP), [ADDRESS], id="allowlisted-gateway"
    ),
    pytest.param(
        workload_entry(address="www.googleapis.com", labels=APP), [ADDRESS], id="wildcard-gateway"
    ),
    pytest.param(workload_entry(address="api.github.com.", labels=APP), [ADDRESS], id="trail-dot"),
    # Pod records: CoreDNS (pods insecure, the kubeadm/kind Corefile) answers with the IP
    # the name spells, pod or not (coredns plugin/kubernetes/kubernetes.go findPods).
    pytest.param(
        workload_entry(address="140-82-112-5.default.pod.cluster.local", labels=APP),
        [ADDRESS],
        id="pod-record-public-ip",
    ),
    pytest.param(
        workload_entry(address="x.140-82-112-5.default.POD.cluster.local", labels=APP),
        [ADDRESS],
        id="pod-record-with-endpoint-label",
    ),
    pytest.param(
        workload_entry(address="2001-db8--1.default.pod.cluster.local", labels=APP),
        [ADDRESS],
        id="pod-record-ipv6",
    ),
    pytest.param(
        workload_entry(
            address="203-0-113-5.default.pod.cluster.local", labels=APP, ports={"ssh": 22}
        ),
        ["spec.ports[ssh]"],
        id="pod-record-direct-host-other-port",
    ),
    pytest.param(workload_entry(address="metadata", labels=APP), [ADDRESS], id="single-label"),
    pytest.param(
        workload_entry(address="db.example.com", labels=APP), [ADDRESS], id="restricted-name"
    ),
    pytest.param(
        workload_entry(address="192.168.1.7", labels=APP), [ADDRESS], id="restricted-cidr-elsewhere"
    ),
    pytest.param(
        workload_entry("payments", address="192.168.1.7", labels=APP),
        [ADDRESS],
        id="cidr-of-a-gateway-required-host",
    ),
    pytest.param(
        workload_entry(address="10.20.3.4", labels=APP), [ADDRESS], id="wildcard-entry-cidr"
    ),
    pytest.param(
        workload_entry(address="203.0.113.5", labels=APP, ports={"ssh": 22}),
        ["spec.ports[ssh]"],
        id="direct-host-other-port",
    ),
    # Another network's gateway carries the traffic, wherever the address points.
    pytest.param(
        workload_entry(address="10.128.0.12", network="evil-net", labels=APP),
        ["spec.network"],
        id="network",
    ),
    pytest.param(
        workload_entry(network="evil-net", labels=APP), ["spec.network"], id="network-no-address"
    ),
    pytest.param(
        workload_entry(
            address="10.128.0.12", labels={"app": "x", "topology.istio.io/network": "evil-net"}
        ),
        ["spec.labels[topology.istio.io/network]"],
        id="network-label",
    ),
    # ConvertWorkloadEntry merges metadata.labels into the labels workloadEntryNetwork reads
    pytest.param(
        workload_entry(
            address="10.128.0.12",
            labels=APP,
            metadata_labels={"topology.istio.io/network": "evil-net"},
        ),
        ["metadata.labels[topology.istio.io/network]"],
        id="network-metadata-label",
    ),
    pytest.param(workload_entry(labels=APP), [ADDRESS], id="no-address"),
    pytest.param(
        workload_entry(
            address="evil.example.org", labels=APP, api_version="networking.istio.io/v1alpha3"
        ),
        [ADDRESS],
        id="v1alpha3",
    ),
]


@pytest.mark.parametrize(("obj", "fields"), BYPASSES)
def test_bypass_attempts(obj: dict[str, Any], fields: list[str]) -> None:
    assert _fields(obj) == fields


ORDINARY = [
    # reference/config/networking/workload-entry: the details-legacy VM.
    pytest.param(
        workload_entry(
            "bookinfo",
            "details-svc",
            address="10.128.0.12",
            labels={"app": "details-legacy", "instance-id": "vm1"},
            serviceAccount="details-legacy",
        ),
        id="reference-vm",
    ),
    # setup/install/virtual-machine and the VM bookinfo task: a VM behind a Service.
    pytest.param(
        workload_entry(
            "vm-namespace",
            "mysqldb",
            address="10.128.1.20",
            labels={"app": "mysqldb", "class": "vm"},
            serviceAccount="bookinfo-ratings",
            ports={"mysql": 3306},
        ),
        id="vm-task",
    ),
    pytest.param(
        workload_entry(
            address="10.128.0.13",
            labels=APP,
            weight=10,
            locality="us-east1/us-east1-b",
            ports={"http": 8080, "grpc": 9090},
        ),
        id="weight-locality-ports",
    ),
    pytest.param(workload_entry(address="fd00:10::5", labels=APP), id="internal-ipv6"),
    pytest.param(workload_entry(address="10.100.4.2", labels=APP), id="service-network"),
    # workload-entry reference: Unix domain socket (a socket on the calling pod).
    pytest.param(
        workload_entry(address="unix:///var/run/example/socket", labels=APP), id="unix-socket"
    ),
    pytest.param(
        workload_entry(address="vm1.default.svc.cluster.local", labels=APP), id="in-cluster-name"
    ),
    pytest.param(
        workload_entry(address="10-128-0-12.default.pod.cluster.local", labels=APP),
        id="pod-record-internal-ip",
    ),
    pytest.param(
        workload_entry(address="web-0.default.pod.cluster.local", labels=APP),
        id="pod-name-record-answers-nothing",
    ),
    # Hosts the policy lets sidecars reach directly (not in requireFor).
    pytest.param(
        workload_entry(address="img.cdn.example.net", labels=APP, ports={"https": 443}),
        id="direct-host-name",
    ),
    pytest.param(
        workload_entry(address="203.0.113.5", labels=APP, ports={"ftp": 21}), id="direct-host-ip"
    ),
    pytest.param(
        workload_entry(address="10.128.0.12", labels={"app": "x", "version": "v1"}), id="subset"
    ),
    # metadata.labels are merged into the selector labels (ConvertWorkloadEntry); a VM's
    # own labels and its locality label choose no network
    pytest.param(
        workload_entry(
            address="10.128.0.12",
            labels=APP,
            metadata_labels={"app": "x", "topology.kubernetes.io/region": "us-east1"},
        ),
        id="metadata-labels",
    ),
]


@pytest.mark.parametrize("obj", ORDINARY)
def test_ordinary_configurations(obj: dict[str, Any]) -> None:
    assert _fields(obj) == []


def test_message_says_what_selecting_it_would_do() -> None:
    (violation,) = findings(
        RULE, workload_entry(address="203.0.113.99", labels=APP), ENDPOINTS_POLICY
    )
    assert '"203.0.113.99"' in violation.message
    assert "internal networks" in violation.message
    assert "Service or ServiceEntry selecting" in violation.message


def test_gateway_required_message_names_the_host() -> None:
    (violation,) = findings(RULE, workload_entry(address="api.github.com"), ENDPOINTS_POLICY)
    assert "api.github.com" in violation.message
    assert "egress gateway" in violation.message


def test_routing_labels_apply_to_workload_entries() -> None:
    # A waypoint label on a WorkloadEntry only sends traffic addressed to the entry through
    # that waypoint, on to the same address (ambient fetchWaypointForWorkload): any waypoint
    # is fine there (test_routing_labels); Istio's internal keys are still refused.
    obj = workload_entry(
        address="10.128.0.12",
        metadata_labels={
            "istio.io/use-waypoint": "my-waypoint",
            "internal.istio.io/gateway-service": "x",
        },
    )
    assert [v.field for v in findings("routing-labels", obj, ENDPOINTS_POLICY)] == [
        "metadata.labels[internal.istio.io/gateway-service]"
    ]
