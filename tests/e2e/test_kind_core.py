"""Service, Endpoints, EndpointSlice through the real API server, matchConditions included.

There is no controller manager here: the endpoint controllers are played by impersonating
their users (the admin client may impersonate; the API server's bootstrap RBAC lets those
users write Endpoints and EndpointSlices), which is exactly what the webhook entry's
matchConditions read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME, WebhookUnderTest, dry_run, wait_for_verdict
from tests.e2e.objects import EVIL_HOST, NOT_ALLOWLISTED, dump

pytestmark = pytest.mark.e2e

SERVICES_DENIED = f'admission webhook "services.{WEBHOOK_NAME}" denied the request'
ENDPOINTS_DENIED = f'admission webhook "endpoints.{WEBHOOK_NAME}" denied the request'
OUTSIDE = "outside the internal networks"
SLICE_CONTROLLER = "system:serviceaccount:kube-system:endpointslice-controller"
ENDPOINTS_CONTROLLER = "system:serviceaccount:kube-system:endpoint-controller"
POD_IP = "10.244.1.5"
CONTROLLER_LABELS = {
    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    "kubernetes.io/service-name": "web",
}


def service(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def external_name(name: str, namespace: str, target: str) -> dict[str, Any]:
    return service(name, namespace, type="ExternalName", externalName=target, ports=[{"port": 443}])


def endpoints(name: str, namespace: str, ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "tls", "port": 443}]}],
    }


def endpoint_slice(
    name: str, namespace: str, ip: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def apply(cluster: Cluster, obj: dict[str, Any], *, as_user: str | None = None) -> Any:
    args = ["apply", "-f", "-"] + ([f"--as={as_user}"] if as_user else [])
    return cluster.kubectl(*args, input=dump(obj), check=False)


def stored(cluster: Cluster, obj: dict[str, Any]) -> bool:
    meta = obj["metadata"]
    kind = "endpointslices.discovery.k8s.io" if obj["kind"] == "EndpointSlice" else obj["kind"]
    proc = cluster.kubectl(
        "get", kind, meta["name"], "-n", meta["namespace"], "-o", "json", check=False
    )
    return proc.returncode == 0 and json.loads(proc.stdout)["metadata"]["name"] == meta["name"]


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (EVIL_HOST, NOT_ALLOWLISTED),
        # an alias of a gateway-required host: a route naming the alias as its destination
        # goes to the host's own cluster (route.go GetDestinationCluster), past the gateway
        ("api.github.com", "must go through the egress gateway"),
    ],
    ids=["not-allowlisted", "gateway-required"],
)
def test_external_name_to_an_outside_host_is_denied(
    cluster: Cluster, namespace: str, target: str, expected: str
) -> None:
    obj = external_name("alias", namespace, target)

    proc = apply(cluster, obj)

    assert proc.returncode != 0
    assert SERVICES_DENIED in proc.stderr
    assert expected in proc.stderr
    assert "spec.externalName" in proc.stderr
    assert not stored(cluster, obj)


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"externalIPs": ["8.8.8.8"]}, "kube-proxy would capture"),
        # (use-waypoint "none" was the row here; an in-cluster Service may carry it since
        # 0a696e4: GetUseWaypoint reads it as no waypoint, the Service's endpoints direct)
        ({"labels": {"internal.istio.io/gateway-service": "true"}}, "reserved for Istio"),
    ],
    ids=["external-ip", "routing-label"],
)
def test_every_branch_of_the_service_condition_reaches_the_webhook(
    cluster: Cluster, namespace: str, spec: dict[str, Any], expected: str
) -> None:
    obj = service("web", namespace, selector={"app": "web"}, ports=[{"port": 80}], **spec)

    proc = apply(cluster, obj)

    assert proc.returncode != 0
    assert SERVICES_DENIED in proc.stderr
    assert expected in proc.stderr


@pytest.mark.usefixtures("webhook")
def test_ordinary_services_are_admitted(cluster: Cluster, namespace: str) -> None:
    ordinary = [
        service("web", namespace, selector={"app": "web"}, ports=[{"port": 80}]),
        service("db", namespace, clusterIP="None", selector={"app": "db"}, ports=[{"port": 5432}]),
        service(
            "ingress",
            namespace,
            type="LoadBalancer",
            selector={"istio": "ingressgateway"},
            ports=[{"name": "https", "port": 443}],
        ),
        external_name("kube-api", namespace, "kubernetes.default.svc.cluster.local"),
    ]
    for obj in ordinary:
        proc = apply(cluster, obj)
        assert proc.returncode == 0, proc.stderr
        assert stored(cluster, obj)


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("kind", ["Endpoints", "EndpointSlice"])
def test_hand_written_endpoints_outside_the_cluster_are_denied(
    cluster: Cluster, namespace: str, kind: str
) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=dump(service("web", namespace, ports=[{"port": 443}]))
    )
    build = endpoints if kind == "Endpoints" else endpoint_slice
    obj = build("web", namespace, "8.8.8.8")

    proc = apply(cluster, obj)

    assert proc.returncode != 0
    assert ENDPOINTS_DENIED in proc.stderr
    assert OUTSIDE in proc.stderr
    assert not stored(cluster, obj)


@pytest.mark.usefixtures("webhook")
def test_controller_writes_are_never_judged_and_forged_labels_do_not_help(
    cluster: Cluster, namespace: str
) -> None:
    # The test policy sets no internalNetworks, so the webhook refuses even a pod IP: only
    # the matchConditions can let the controller's slice through.
    forged = endpoint_slice("web-forged", namespace, POD_IP, CONTROLLER_LABELS)
    by_controller = endpoint_slice("web-abcde", namespace, POD_IP, CONTROLLER_LABELS)
    legacy = endpoints("web", namespace, POD_IP)

    denied = apply(cluster, forged)
    admitted = apply(cluster, by_controller, as_user=SLICE_CONTROLLER)
    admitted_legacy = apply(cluster, legacy, as_user=ENDPOINTS_CONTROLLER)

    assert denied.returncode != 0
    assert ENDPOINTS_DENIED in denied.stderr
    assert admitted.returncode == 0, admitted.stderr
    assert admitted_legacy.returncode == 0, admitted_legacy.stderr
    assert stored(cluster, by_controller)
    assert stored(cluster, legacy)
    assert not stored(cluster, forged)


def test_controllers_keep_working_while_the_webhook_is_down(
    cluster: Cluster, webhook: WebhookUnderTest, namespace: str
) -> None:
    tenant = dump(endpoint_slice("web-tenant", namespace, POD_IP))
    webhook.stop()
    wait_for_verdict(cluster, tenant, admitted=False, stderr_contains="failed calling")

    by_controller = endpoint_slice("web-abcde", namespace, POD_IP, CONTROLLER_LABELS)
    proc = apply(cluster, by_controller, as_user=SLICE_CONTROLLER)

    assert proc.returncode == 0, proc.stderr
    assert stored(cluster, by_controller)


def test_pod_addresses_pass_once_internal_networks_are_set(
    cluster: Cluster, webhook: WebhookUnderTest, namespace: str
) -> None:
    policy = yaml.safe_load(webhook.policy_text)
    policy["internalNetworks"] = ["10.244.0.0/16"]
    obj = endpoint_slice("web-manual", namespace, POD_IP)
    assert ENDPOINTS_DENIED in dry_run(cluster, dump(obj)).stderr

    webhook.write_policy(yaml.safe_dump(policy, sort_keys=False))
    wait_for_verdict(cluster, dump(obj), admitted=True)

    assert apply(cluster, obj).returncode == 0
    assert stored(cluster, obj)
