"""The webhook with a cluster view, reaching the API server through a proxy the test controls.

``viewing_webhook`` (module) -> ViewingWebhook: `egress-webhook serve --kubeconfig` whose
kubeconfig points at a TcpProxy in front of the API server, registered by a
ValidatingWebhookConfiguration of its own that only matches namespaces labelled
VIEW_LABEL (so it never judges other tests' objects). Ready (its view synced) and live
(an uncovered ServiceEntry is denied) before any test runs.
"""

from __future__ import annotations

import json
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.cluster import HOST, Cluster, wait_until
from tests.e2e.egress_webhook import (
    VIEW_NAMESPACE_LABEL,
    WebhookServer,
    e2e_policy_text,
    wait_for_verdict,
)
from tests.e2e.objects import Obj, dump, service_entry
from tests.e2e.tcp_proxy import TcpProxy
from webhook.policy.kinds import KINDS

VIEW_LABEL = VIEW_NAMESPACE_LABEL
CONFIGURATION = "egress-webhook-e2e-view"
WEBHOOK = "view.e2e.egress-webhook.test"
GATEWAY_SERVICE = "istio-egressgateway.istio-system.svc.cluster.local"
UNCOVERED = "is not covered"
#: Seconds a cut-off watch may last before the view is stale (short, for the outage test).
STALE_AFTER = 3


def covering_route(name: str, namespace: str, host: str, gateway: str = "") -> Obj:
    """The standard egress VirtualService: mesh -> egress gateway -> `host` on 443/TLS."""
    at = gateway or "istio-system/istio-egressgateway"
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": [host],
            "gateways": ["mesh", at],
            "tls": [
                {
                    "match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [host]}],
                    "route": [{"destination": {"host": GATEWAY_SERVICE, "port": {"number": 443}}}],
                },
                {
                    "match": [{"gateways": [at], "port": 443, "sniHosts": [host]}],
                    "route": [{"destination": {"host": host, "port": {"number": 443}}}],
                },
            ],
        },
    }


class ViewingWebhook:
    """The process, its proxy, and what it says about its view."""

    def __init__(self, cluster: Cluster, workdir: Path) -> None:
        self.cluster = cluster
        server = urlsplit(cluster.server)
        assert server.hostname is not None
        assert server.port is not None
        self.proxy = TcpProxy(server.hostname, server.port)
        config = json.loads(cluster.kubeconfig.read_text())
        config["clusters"][0]["cluster"]["server"] = f"https://{HOST}:{self.proxy.port}"
        kubeconfig = workdir / "view-kubeconfig"
        kubeconfig.write_text(json.dumps(config))
        args = ("--kubeconfig", str(kubeconfig), "--view-stale-after", str(STALE_AFTER))
        self.server = WebhookServer(workdir, e2e_policy_text(), extra_args=args)
        self._tls = ssl.create_default_context(cadata=self.server.ca_pem.decode())

    def _get(self, path: str) -> tuple[int, bytes]:
        url = f"https://{HOST}:{self.server.port}{path}"
        try:
            with urllib.request.urlopen(url, context=self._tls, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def readyz(self) -> tuple[int, dict[str, Any]]:
        status, body = self._get("/readyz")
        return status, json.loads(body)

    def metrics(self) -> str:
        return self._get("/metrics")[1].decode()

    def wait_for_view(self, *, stale: bool, what: str) -> dict[str, Any]:
        """Wait until /readyz says the view is (or is not) stale; its detail."""

        def probe() -> dict[str, Any] | None:
            _, detail = self.readyz()
            view = detail["clusterView"]
            return view if view["synced"] and view["stale"] is stale else None

        return wait_until(probe, timeout=60, what=what)

    def namespace(self, name: str) -> str:
        self.cluster.create_namespace(name, labels={VIEW_LABEL: "on"})
        return name

    def register(self) -> None:
        webhook = {
            "name": WEBHOOK,
            "clientConfig": {"url": self.server.url, "caBundle": self.server.ca_bundle},
            "rules": KINDS.webhook_rules(),
            "namespaceSelector": {"matchLabels": {VIEW_LABEL: "on"}},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 10,
        }
        configuration = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": CONFIGURATION},
            "webhooks": [webhook],
        }
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(configuration))
        probe = dump(service_entry("probe", self.namespace("view-probe"), "api.github.com"))
        wait_for_verdict(self.cluster, probe, admitted=False, stderr_contains=UNCOVERED)

    def close(self) -> None:
        self.cluster.kubectl(
            "delete", "validatingwebhookconfiguration", CONFIGURATION, "--ignore-not-found"
        )
        self.server.stop()
        self.proxy.close()


@pytest.fixture(scope="module")
def viewing_webhook(cluster: Cluster) -> Iterator[ViewingWebhook]:
    """The viewing webhook, started, synced and registered (see the module docstring)."""
    workdir = Path(tempfile.mkdtemp(prefix="egress-webhook-e2e-view-"))
    under_test = ViewingWebhook(cluster, workdir)
    try:
        under_test.server.start()
        under_test.wait_for_view(stale=False, what="the cluster view to sync")
        under_test.register()
        yield under_test
    finally:
        under_test.close()
        shutil.rmtree(workdir, ignore_errors=True)
