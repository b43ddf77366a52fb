"""The offline checker and the cluster give the same verdict, object by object."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import (
    WEBHOOK_NAME,
    WebhookUnderTest,
    dry_run,
    egress_webhook_command,
    egress_webhook_env,
)
from tests.e2e.objects import E2E_MANIFESTS, EXAMPLES, dump, load

pytestmark = pytest.mark.e2e

MANIFESTS = [*sorted(EXAMPLES.rglob("*.yaml")), *sorted(E2E_MANIFESTS.glob("*.yaml"))]
# the core kinds go through an entry of their own, "<prefix>.<WEBHOOK_NAME>"
DENIED_BY_US = f'{WEBHOOK_NAME}" denied the request'

Key = tuple[str, str, str]


def offline_results(webhook: WebhookUnderTest) -> dict[Key, dict[str, Any]]:
    argv = [*egress_webhook_command(), "check", "--policy", str(webhook.server.policy_path)]
    for path in MANIFESTS:
        argv += ["-f", str(path)]
    proc = subprocess.run(
        [*argv, "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=egress_webhook_env(),
    )
    assert proc.returncode in (0, 1), proc.stderr  # 1: something denied; 2 would be our bug
    return {(r["kind"], r["namespace"], r["name"]): r for r in json.loads(proc.stdout)["results"]}


def test_offline_checker_gives_the_cluster_verdict_for_every_object(
    cluster: Cluster, webhook: WebhookUnderTest
) -> None:
    offline = offline_results(webhook)
    compared = []

    for path in MANIFESTS:
        for obj in load(path):
            key = (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
            in_cluster = dry_run(cluster, dump(obj))
            result = offline.pop(key)
            admitted = in_cluster.returncode == 0
            assert admitted == result["allowed"], (key, in_cluster.stderr, result)
            if not admitted:
                assert DENIED_BY_US in in_cluster.stderr, (key, in_cluster.stderr)
                for violation in result["violations"]:
                    assert violation["message"] in in_cluster.stderr, (key, in_cluster.stderr)
            compared.append((key, admitted))

    assert offline == {}, "the checker reported objects the test did not send to the cluster"
    assert {admitted for _, admitted in compared} == {True, False}
