"""What an operator scrapes from /metrics of the real server: process, policy identity, rules."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import RunningWebhook, admission_review, eventually, load_manifests
from webhook.policy.engine import evaluate
from webhook.policy.loader import load_policy

DENIED = load_manifests("denied")

Sample = tuple[str, dict[str, str], float]


async def _samples(webhook: RunningWebhook) -> list[Sample]:
    status, text = await webhook.get("/metrics")
    assert status == 200
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _named(samples: list[Sample], name: str) -> list[tuple[dict[str, str], float]]:
    return [(labels, value) for n, labels, value in samples if n == name]


async def test_process_and_platform_collectors_are_on_the_servers_registry(
    webhook: RunningWebhook,
) -> None:
    names = {name for name, _, _ in await _samples(webhook)}
    assert {
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_start_time_seconds",
        "process_open_fds",
        "python_info",
    } <= names


async def test_no_created_series(webhook: RunningWebhook) -> None:
    await webhook.review(admission_review(DENIED[0]))
    names = {name for name, _, _ in await _samples(webhook)}
    assert "egress_webhook_admission_reviews_total" in names
    assert not [name for name in names if name.endswith("_created")]


async def test_policy_info_names_the_serving_policy_and_follows_a_reload(
    webhook: RunningWebhook, policy_path: Path
) -> None:
    original = await asyncio.to_thread(policy_path.read_bytes)
    info = _named(await _samples(webhook), "egress_webhook_policy_info")
    assert info == [({"sha256": hashlib.sha256(original).hexdigest(), "mode": "enforce"}, 1.0)]

    changed = original.replace(b"mode: enforce", b"mode: warn", 1)
    await asyncio.to_thread(policy_path.write_bytes, changed)
    expected = [({"sha256": hashlib.sha256(changed).hexdigest(), "mode": "warn"}, 1.0)]

    async def reloaded() -> bool:
        return _named(await _samples(webhook), "egress_webhook_policy_info") == expected

    # the old policy's series is gone, not left at 1 beside the new one
    await eventually(reloaded, "egress_webhook_policy_info shows only the reloaded policy")


async def test_violations_are_counted_by_rule_and_namespace(
    webhook: RunningWebhook,
) -> None:
    policy = load_policy(webhook.app_settings.policy)
    expected: Counter[tuple[str, str]] = Counter()
    for number, obj in enumerate(DENIED):
        namespace = f"team-{number % 2}"
        await webhook.review(admission_review(obj, namespace=namespace))
        decision = evaluate(obj, policy, namespace=namespace)
        expected.update((v.rule, namespace) for v in decision.violations)
    assert expected, "the denied examples must violate something"

    violations = _named(await _samples(webhook), "egress_webhook_policy_violations_total")
    assert {(labels["rule"], labels["namespace"]): value for labels, value in violations} == {
        key: float(count) for key, count in expected.items()
    }


async def test_dry_run_is_a_label_of_the_reviews_counter(webhook: RunningWebhook) -> None:
    await webhook.review(admission_review(DENIED[0], dry_run=True))
    await webhook.review(admission_review(DENIED[0]))
    reviews = _named(await _samples(webhook), "egress_webhook_admission_reviews_total")
    by_dry_run = {labels["dry_run"]: value for labels, value in reviews}
    assert by_dry_run == {"true": 1.0, "false": 1.0}
