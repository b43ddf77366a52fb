"""What the API server does when our webhook process is not there: failurePolicy decides."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME, WebhookUnderTest, wait_for_verdict
from tests.e2e.objects import dump, service_entry

pytestmark = pytest.mark.e2e

FAILED_CALLING = f'failed calling webhook "{WEBHOOK_NAME}"'


def test_failure_policy_fail_rejects_everything_while_the_webhook_is_down(
    cluster: Cluster, webhook: WebhookUnderTest, namespace: str
) -> None:
    good = dump(service_entry("github", namespace, "api.github.com"))

    webhook.stop()
    # settles a failurePolicy a previous test may have left in the API server's cache
    wait_for_verdict(cluster, good, admitted=False, stderr_contains=FAILED_CALLING)
    proc = cluster.kubectl("apply", "-f", "-", input=good, check=False)

    assert proc.returncode != 0
    assert FAILED_CALLING in proc.stderr
    assert cluster.kubectl("get", "serviceentries", "-n", namespace, "-o", "name").stdout == ""


def test_failure_policy_ignore_admits_while_the_webhook_is_down(
    cluster: Cluster, webhook: WebhookUnderTest, namespace: str
) -> None:
    bad = dump(service_entry("exfil", namespace, "evil.example.org"))

    webhook.stop()
    webhook.set_failure_policy("Ignore")
    # the API server reloads webhook configuration asynchronously
    wait_for_verdict(cluster, bad, admitted=True)
    proc = cluster.kubectl("apply", "-f", "-", input=bad)

    assert "created" in proc.stdout
    cluster.kubectl("delete", "serviceentry", "exfil", "-n", namespace)
