"""WorkloadEntries through the real API server: an address outside the mesh is denied."""

from __future__ import annotations

import pytest
import yaml

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME, WebhookUnderTest, wait_for_verdict
from tests.e2e.objects import Obj, dump

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
VM_NETWORK = "10.128.0.0/16"


def workload_entry(name: str, namespace: str, address: str, *, version: str = "v1") -> Obj:
    """A WorkloadEntry that a Service selecting app=legacy would send its traffic to."""
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "WorkloadEntry",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"address": address, "labels": {"app": "legacy"}, "ports": {"http": 8080}},
    }


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_an_address_outside_the_mesh_is_denied(
    cluster: Cluster, namespace: str, version: str
) -> None:
    bad = workload_entry("exfil", namespace, "203.0.113.9", version=version)

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert 'spec.address: address "203.0.113.9" is outside the internal networks' in proc.stderr
    assert "[workload-entry-endpoint]" in proc.stderr
    assert not cluster.stored("workloadentries.networking.istio.io", namespace, "exfil")


def test_a_vm_on_an_internal_network_is_admitted(
    cluster: Cluster, namespace: str, webhook: WebhookUnderTest
) -> None:
    vm = dump(workload_entry("vm", namespace, "10.128.0.12"))
    policy = yaml.safe_load(webhook.policy_text)
    policy["internalNetworks"] = [VM_NETWORK]

    webhook.write_policy(yaml.safe_dump(policy, sort_keys=False))
    wait_for_verdict(cluster, vm, admitted=True)
    cluster.kubectl("apply", "-f", "-", input=vm)

    assert cluster.stored("workloadentries.networking.istio.io", namespace, "vm")
