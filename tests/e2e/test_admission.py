"""kubectl against the real API server: what the webhook admits, denies, and never sees."""

from __future__ import annotations

import json

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import (
    EXEMPT_NAMESPACE,
    WEBHOOK_NAME,
    WebhookUnderTest,
    dry_run,
    wait_for_verdict,
)
from tests.e2e.objects import (
    EVIL_HOST,
    EXAMPLES,
    NOT_ALLOWLISTED,
    direct_route,
    dump,
    load,
    service_entry,
)

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'


def hosts_of(cluster: Cluster, kind: str, namespace: str, name: str) -> list[str]:
    proc = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    hosts: list[str] = json.loads(proc.stdout)["spec"]["hosts"]
    return hosts


@pytest.mark.usefixtures("webhook")
def test_compliant_examples_are_admitted_and_stored(cluster: Cluster) -> None:
    for path in sorted((EXAMPLES / "allowed").glob("*.yaml")):
        cluster.kubectl("apply", "-f", path)
        for obj in load(path):
            meta = obj["metadata"]
            assert cluster.stored(obj["kind"], meta["namespace"], meta["name"]), path.name
    for path in sorted((EXAMPLES / "allowed").glob("*.yaml")):
        cluster.kubectl("delete", "-f", path)


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ("not-allowlisted.yaml", [EVIL_HOST, NOT_ALLOWLISTED]),
        ("direct-route.yaml", ["api.github.com", "egress gateway"]),
    ],
)
def test_non_compliant_examples_are_denied_with_our_message(
    cluster: Cluster, manifest: str, expected: list[str]
) -> None:
    path = EXAMPLES / "denied" / manifest
    proc = cluster.kubectl("apply", "-f", path, check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    for text in expected:
        assert text in proc.stderr
    for obj in load(path):
        assert not cluster.stored(obj["kind"], "default", obj["metadata"]["name"])


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_every_served_version_is_validated(cluster: Cluster, namespace: str, version: str) -> None:
    good = service_entry("github", namespace, "api.github.com", version=version)
    bad_entry = service_entry("exfil", namespace, EVIL_HOST, version=version)
    bad_route = direct_route("github-direct", namespace, "api.github.com", version=version)

    cluster.kubectl("apply", "-f", "-", input=dump(good))
    denied_entry = cluster.kubectl("apply", "-f", "-", input=dump(bad_entry), check=False)
    denied_route = cluster.kubectl("apply", "-f", "-", input=dump(bad_route), check=False)

    assert cluster.stored("serviceentries.networking.istio.io", namespace, "github")
    assert denied_entry.returncode != 0
    assert DENIED_BY_US in denied_entry.stderr
    assert EVIL_HOST in denied_entry.stderr
    assert denied_route.returncode != 0
    assert "egress gateway" in denied_route.stderr
    assert not cluster.stored("serviceentries.networking.istio.io", namespace, "exfil")
    assert not cluster.stored("virtualservices.networking.istio.io", namespace, "github-direct")


@pytest.mark.usefixtures("webhook")
def test_server_dry_run_of_a_bad_object_is_denied_and_stores_nothing(
    cluster: Cluster, namespace: str
) -> None:
    bad = service_entry("exfil", namespace, EVIL_HOST)

    proc = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert NOT_ALLOWLISTED in proc.stderr
    assert not cluster.stored("serviceentry", namespace, "exfil")


@pytest.mark.usefixtures("webhook")
def test_server_dry_run_of_a_good_object_is_admitted_and_stores_nothing(
    cluster: Cluster, namespace: str
) -> None:
    good = service_entry("github", namespace, "api.github.com")

    proc = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=dump(good))

    assert "(server dry run)" in proc.stdout
    assert not cluster.stored("serviceentry", namespace, "github")


@pytest.mark.usefixtures("webhook")
def test_update_into_a_non_compliant_object_is_denied(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=dump(service_entry("api", namespace, "api.github.com"))
    )

    proc = cluster.kubectl(
        "apply", "-f", "-", input=dump(service_entry("api", namespace, EVIL_HOST)), check=False
    )

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert EVIL_HOST in proc.stderr
    assert hosts_of(cluster, "serviceentry", namespace, "api") == ["api.github.com"]


@pytest.mark.usefixtures("webhook")
def test_delete_of_a_stored_object_works(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=dump(service_entry("api", namespace, "api.github.com"))
    )

    cluster.kubectl("delete", "serviceentry", "api", "-n", namespace)

    assert not cluster.stored("serviceentry", namespace, "api")


@pytest.mark.usefixtures("webhook")
def test_exempt_namespace_objects_pass(cluster: Cluster) -> None:
    bad = service_entry("exfil", EXEMPT_NAMESPACE, EVIL_HOST)

    cluster.kubectl("apply", "-f", "-", input=dump(bad))

    assert cluster.stored("serviceentry", EXEMPT_NAMESPACE, "exfil")
    cluster.kubectl("delete", "serviceentry", "exfil", "-n", EXEMPT_NAMESPACE)


def test_kube_system_is_never_sent_to_the_webhook(
    cluster: Cluster, webhook: WebhookUnderTest
) -> None:
    # The test policy does not exempt kube-system: were these objects sent, the first would be
    # denied, and the second, sent while the webhook is down under failurePolicy Fail, could
    # not be admitted at all.
    same_elsewhere = dump(service_entry("exfil", "default", EVIL_HOST))
    assert DENIED_BY_US in dry_run(cluster, same_elsewhere).stderr

    cluster.kubectl(
        "apply", "-f", "-", input=dump(service_entry("exfil", "kube-system", EVIL_HOST))
    )
    webhook.stop()
    wait_for_verdict(cluster, same_elsewhere, admitted=False, stderr_contains="failed calling")
    cluster.kubectl(
        "apply", "-f", "-", input=dump(service_entry("exfil-2", "kube-system", EVIL_HOST))
    )

    assert cluster.stored("serviceentry", "kube-system", "exfil")
    assert cluster.stored("serviceentry", "kube-system", "exfil-2")
    cluster.kubectl("delete", "serviceentry", "exfil", "exfil-2", "-n", "kube-system")
