"""A policy change on disk reaches the cluster's verdicts without restarting anything."""

from __future__ import annotations

import pytest
import yaml

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WebhookUnderTest, wait_for_verdict
from tests.e2e.objects import EVIL_HOST, NOT_ALLOWLISTED, dump, service_entry

pytestmark = pytest.mark.e2e


def test_policy_hot_reload_is_visible_through_the_cluster(
    cluster: Cluster, webhook: WebhookUnderTest, namespace: str
) -> None:
    entry = dump(service_entry("newly-allowed", namespace, EVIL_HOST))
    policy = yaml.safe_load(webhook.policy_text)
    policy["allowlist"].append({"host": EVIL_HOST, "ports": [{"number": 443}]})
    denied_before = cluster.kubectl("apply", "-f", "-", input=entry, check=False)

    webhook.write_policy(yaml.safe_dump(policy, sort_keys=False))
    wait_for_verdict(cluster, entry, admitted=True)
    cluster.kubectl("apply", "-f", "-", input=entry)
    webhook.write_policy(webhook.policy_text)
    denied_again = wait_for_verdict(
        cluster, entry.replace("newly-allowed", "again"), admitted=False, stderr_contains=EVIL_HOST
    )

    assert NOT_ALLOWLISTED in denied_before.stderr
    assert NOT_ALLOWLISTED in denied_again.stderr
