"""The cluster view through the real API server: coverage order, Gateways by selector,
the audit of objects that predate the webhook, and an API server outage."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, wait_until
from tests.e2e.egress_webhook import (
    e2e_policy_text,
    egress_webhook_command,
    egress_webhook_env,
    wait_for_verdict,
)
from tests.e2e.objects import EVIL_HOST, dump, service_entry
from tests.e2e.view_fixtures import UNCOVERED, WEBHOOK, ViewingWebhook, covering_route

pytestmark = pytest.mark.e2e

DENIED = f'admission webhook "{WEBHOOK}" denied the request'


def apply(cluster: Cluster, obj: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", *extra, "-f", "-", input=dump(obj), check=False)


def delete(cluster: Cluster, obj: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    meta = obj["metadata"]
    return cluster.kubectl(
        "delete", obj["kind"].lower(), meta["name"], "-n", meta["namespace"], *extra, check=False
    )


def delete_once_admitted(cluster: Cluster, obj: dict[str, Any]) -> None:
    """Delete `obj` once the view has seen what made its delete safe (a dry run passes)."""

    def deletable() -> bool | None:
        return True if delete(cluster, obj, "--dry-run=server").returncode == 0 else None

    wait_until(deletable, timeout=30, what=f"the {obj['kind']} delete to be admitted")
    assert delete(cluster, obj).returncode == 0


def test_the_virtual_service_first_then_the_service_entry(
    cluster: Cluster, viewing_webhook: ViewingWebhook
) -> None:
    # A host no other test uses: objects of other tests, exported everywhere as by
    # default, would otherwise cover it (or be left uncovered by the delete).
    ns = viewing_webhook.namespace("view-order")
    host = "view-order.googleapis.com"
    entry = service_entry("github", ns, host)
    route = covering_route("github", ns, host)

    for proc in (apply(cluster, entry), apply(cluster, entry, "--dry-run=server")):
        assert proc.returncode != 0
        assert DENIED in proc.stderr
        assert f'host "{host}" port 443 {UNCOVERED}' in proc.stderr
        assert "kind: VirtualService" in proc.stderr

    assert apply(cluster, route).returncode == 0
    # the view sees the VirtualService through its watch: wait for the verdict to follow
    wait_for_verdict(cluster, dump(entry), admitted=True)
    assert apply(cluster, entry).returncode == 0

    for proc in (delete(cluster, route, "--dry-run=server"), delete(cluster, route)):
        assert proc.returncode != 0
        assert f"ServiceEntry {ns}/github" in proc.stderr
        assert f"delete ServiceEntry {ns}/github first" in proc.stderr

    assert delete(cluster, entry).returncode == 0

    delete_once_admitted(cluster, route)


def test_a_sidecar_may_not_drop_the_virtual_service_that_covers_an_entry(
    cluster: Cluster, viewing_webhook: ViewingWebhook
) -> None:
    # A Sidecar's egress hosts pick VirtualServices by their namespace (sidecar.go
    # convertIstioListenerToWrapper, SelectVirtualServices): "./*" keeps the entry of its
    # own namespace and drops the platform's VirtualService, so its pods would go direct.
    platform = viewing_webhook.namespace("view-sidecar-platform")
    app = viewing_webhook.namespace("view-sidecar-app")
    host = "view-sidecar.googleapis.com"
    route = covering_route("egress", platform, host)
    entry = service_entry("api", app, host)
    narrow = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": app},
        "spec": {"egress": [{"hosts": ["./*", "istio-system/*"]}]},
    }
    importing = {**narrow, "spec": {"egress": [{"hosts": ["./*", f"{platform}/*"]}]}}

    assert apply(cluster, route).returncode == 0
    wait_for_verdict(cluster, dump(entry), admitted=True)
    assert apply(cluster, entry).returncode == 0
    # the view sees the entry through its watch before the Sidecar is judged against it
    refused = wait_for_verdict(
        cluster, dump(narrow), admitted=False, stderr_contains=f"ServiceEntry {app}/api"
    )
    assert DENIED in refused.stderr
    assert "import the namespace of the VirtualService" in refused.stderr
    assert apply(cluster, narrow).returncode != 0
    assert apply(cluster, importing).returncode == 0

    for obj in (importing, entry):
        assert delete(cluster, obj).returncode == 0

    delete_once_admitted(cluster, route)


def test_a_gateway_api_route_attached_to_the_entry_covers_it(
    cluster: Cluster, viewing_webhook: ViewingWebhook
) -> None:
    # The egress gateway task's Gateway API tab: a TLSRoute whose parent is the
    # ServiceEntry sends its mesh traffic to the egress gateway Service.
    ns = viewing_webhook.namespace("view-gamma")
    host = "view-gamma.googleapis.com"
    entry = service_entry("cnn", ns, host)
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1alpha2",
        "kind": "TLSRoute",
        "metadata": {"name": "direct-cnn-to-egress-gateway", "namespace": ns},
        "spec": {
            "parentRefs": [{"kind": "ServiceEntry", "group": "networking.istio.io", "name": "cnn"}],
            "rules": [
                {
                    "backendRefs": [
                        {"name": "istio-egressgateway", "namespace": "istio-system", "port": 443}
                    ]
                }
            ],
        },
    }
    proc = apply(cluster, entry, "--dry-run=server")
    assert proc.returncode != 0
    assert f'host "{host}" port 443 {UNCOVERED}' in proc.stderr

    assert apply(cluster, route).returncode == 0
    wait_for_verdict(cluster, dump(entry), admitted=True)
    assert apply(cluster, entry).returncode == 0

    proc = delete(cluster, route)
    assert proc.returncode != 0
    assert f"delete ServiceEntry {ns}/cnn first" in proc.stderr
    mirrored = {**route, "spec": {**route["spec"], "rules": [*route["spec"]["rules"], {
        "backendRefs": [{"name": "proxy", "port": 443}]}]}}  # fmt: skip
    proc = apply(cluster, mirrored)
    assert proc.returncode != 0
    assert f"ServiceEntry {ns}/cnn" in proc.stderr

    assert delete(cluster, entry).returncode == 0

    delete_once_admitted(cluster, route)


GATEWAY_HOST = "view-gateways.googleapis.com"


def _gateway(ns: str, name: str, selector: dict[str, str]) -> dict[str, Any]:
    server = {
        "port": {"number": 443, "name": "tls", "protocol": "TLS"},
        "hosts": [GATEWAY_HOST],
        "tls": {"mode": "PASSTHROUGH"},
    }
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": selector, "servers": [server]},
    }


def test_a_namespace_gateway_selecting_the_egress_pods_needs_no_listing(
    cluster: Cluster, viewing_webhook: ViewingWebhook
) -> None:
    ns = viewing_webhook.namespace("view-gateways")
    assert apply(cluster, _gateway(ns, "egress", {"istio": "egressgateway"})).returncode == 0
    assert apply(cluster, _gateway(ns, "ingress", {"istio": "ingressgateway"})).returncode == 0
    at_egress = covering_route("github", ns, GATEWAY_HOST, gateway="egress")
    wait_for_verdict(cluster, dump(at_egress), admitted=True)
    at_ingress = covering_route("github", ns, GATEWAY_HOST, gateway="ingress")
    proc = apply(cluster, at_ingress, "--dry-run=server")
    assert proc.returncode != 0
    assert f'gateway "{ns}/ingress", which is not an approved egress gateway' in proc.stderr


def test_the_audit_reports_objects_that_predate_the_webhook(
    cluster: Cluster, viewing_webhook: ViewingWebhook
) -> None:
    # kube-system is never sent to a webhook here: these go in unchecked, as before install
    ns = "kube-system"
    objects = [
        service_entry("audit-github", ns, "audit-github.googleapis.com"),  # not covered
        service_entry("audit-evil", ns, EVIL_HOST),  # not allowlisted
        service_entry("audit-storage", ns, "storage.googleapis.com"),
        covering_route("audit-storage", ns, "storage.googleapis.com"),
    ]
    cluster.kubectl("apply", "-f", "-", input=dump(*objects))
    policy = viewing_webhook.server.workdir / "audit-policy.yaml"
    policy.write_text(e2e_policy_text())
    try:
        proc = subprocess.run(
            [*egress_webhook_command(), "audit", "--policy", str(policy),
             "--kubeconfig", str(cluster.kubeconfig), "-n", ns, "-o", "json"],
            capture_output=True, text=True, check=False, timeout=60, env=egress_webhook_env(),
        )  # fmt: skip
    finally:
        # they would count in other tests' coverage (exported everywhere, as by default)
        cluster.kubectl("delete", "-f", "-", input=dump(*objects))
    assert proc.returncode == 1, proc.stderr
    assert "listed" in proc.stderr  # progress goes to stderr
    results = {(r["kind"], r["name"]): r for r in json.loads(proc.stdout)["results"]}
    verdicts = {key: r["allowed"] for key, r in results.items()}
    assert verdicts == {
        ("ServiceEntry", "audit-github"): False,
        ("ServiceEntry", "audit-evil"): False,
        ("ServiceEntry", "audit-storage"): True,
        ("VirtualService", "audit-storage"): True,
    }
    rules = {v["rule"] for v in results["ServiceEntry", "audit-github"]["violations"]}
    assert rules == {"gateway-coverage"}


def test_an_api_server_outage_is_said_and_the_view_is_right_after(
    cluster: Cluster, viewing_webhook: ViewingWebhook
) -> None:
    ns = viewing_webhook.namespace("view-outage")
    kept = service_entry("kept", ns, "kept.googleapis.com")
    kept_route = covering_route("kept", ns, "kept.googleapis.com")
    assert apply(cluster, kept_route).returncode == 0
    wait_for_verdict(cluster, dump(kept), admitted=True)
    assert apply(cluster, kept).returncode == 0

    viewing_webhook.proxy.cut()
    detail = viewing_webhook.wait_for_view(stale=True, what="the view to report itself stale")
    assert "disconnected" in detail["staleReason"]
    # a check that needs the view fails closed, saying why
    late = service_entry("late", ns, "late.googleapis.com")
    proc = apply(cluster, late, "--dry-run=server")
    assert proc.returncode != 0
    assert "view of the cluster is stale" in proc.stderr
    # what changes meanwhile (straight to the API server) the view cannot see...
    late_route = covering_route("late", ns, "late.googleapis.com")
    proc = apply(cluster, late_route)
    assert proc.returncode == 0
    assert "cluster view is stale" in proc.stderr  # ... and the answer says so
    assert delete(cluster, kept).returncode == 0  # ServiceEntry deletes are not judged

    viewing_webhook.proxy.restore()
    detail = viewing_webhook.wait_for_view(stale=False, what="the view to resync")
    assert detail["kinds"]["VirtualService"]["restarts"] > 0
    assert "egress_webhook_cluster_view_stale 0.0" in viewing_webhook.metrics()
    # both changes made during the outage are in view now
    assert apply(cluster, late, "--dry-run=server").returncode == 0
    assert delete(cluster, kept_route, "--dry-run=server").returncode == 0
