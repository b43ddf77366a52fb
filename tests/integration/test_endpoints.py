"""/healthz, /readyz, /metrics, and what a bug looks like from outside: 500, traceback logged."""

from __future__ import annotations

import json
import logging
from typing import Any, NoReturn

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import RunningWebhook, admission_review, load_manifests
from webhook.server import handlers
from webhook.server.app import create_app
from webhook.server.state import METRICS

ALLOWED = load_manifests("allowed")
DENIED = load_manifests("denied")


async def test_healthz(webhook: RunningWebhook) -> None:
    assert await webhook.get("/healthz") == (200, '{"status": "ok"}')


async def test_readyz_says_what_is_serving(webhook: RunningWebhook) -> None:
    status, text = await webhook.get("/readyz")
    assert status == 200
    detail = json.loads(text)
    assert detail["ready"] is True
    policy = detail["policy"]
    assert policy["path"] == str(webhook.app_settings.policy)
    assert len(policy["sha256"]) == 64
    assert policy["mode"] == "enforce"
    assert policy["lastReloadError"] is None
    certificate = detail["certificate"]
    assert certificate["serial"]
    assert certificate["notAfter"]
    assert certificate["lastReloadError"] is None


async def test_metrics_count_reviews_by_kind_operation_and_decision(
    webhook: RunningWebhook,
) -> None:
    for obj in ALLOWED:
        await webhook.review(admission_review(obj))
    for obj in DENIED:
        await webhook.review(admission_review(obj))
    await webhook.review(admission_review(None, operation="DELETE", old_object=DENIED[0]))
    await webhook.review(
        admission_review({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    )

    status, text = await webhook.get("/metrics")
    assert status == 200
    samples = _samples(text)
    reviews = {
        (labels["kind"], labels["operation"], labels["decision"]): value
        for name, labels, value in samples
        if name == "egress_webhook_admission_reviews_total"
    }
    allowed_kinds = [o["kind"] for o in ALLOWED]
    for kind in set(allowed_kinds):
        assert reviews[(kind, "CREATE", "allowed")] == allowed_kinds.count(kind)
    denied_kinds = [o["kind"] for o in DENIED]
    for kind in set(denied_kinds):
        assert reviews[(kind, "CREATE", "denied")] == denied_kinds.count(kind)
    assert reviews[(DENIED[0]["kind"], "DELETE", "allowed")] == 1
    assert reviews[("other", "CREATE", "allowed")] == 1

    total = len(ALLOWED) + len(DENIED) + 2
    counts = {n: v for n, _, v in samples if n.startswith("egress_webhook_admission_review_dur")}
    assert counts["egress_webhook_admission_review_duration_seconds_count"] == total
    names = {name for name, _, _ in samples}
    assert {
        "egress_webhook_policy_reloads_total",
        "egress_webhook_policy_reload_healthy",
        "egress_webhook_policy_loaded_timestamp_seconds",
        "egress_webhook_certificate_reloads_total",
        "egress_webhook_certificate_expiry_timestamp_seconds",
        "egress_webhook_client_disconnects_total",
        "egress_webhook_open_connections",
        "egress_webhook_connection_limit",
        "egress_webhook_connections_closed_total",
    } <= names
    # the scrape itself is the one request in flight
    assert ("egress_webhook_requests_in_flight", {}, 1.0) in samples
    expiry = next(v for n, _, v in samples if n.endswith("certificate_expiry_timestamp_seconds"))
    assert expiry > 1_700_000_000


async def test_every_app_has_its_own_metrics(webhook: RunningWebhook) -> None:
    """Many apps in one process (tests do this) must not share or clash on metrics."""
    await webhook.review(admission_review(ALLOWED[0]))
    other = create_app(webhook.app_settings)
    assert other is not webhook.app
    assert b"egress_webhook_admission_reviews_total{" not in other[METRICS].render()


async def test_a_bug_is_a_500_with_the_traceback_in_the_log(
    webhook: RunningWebhook, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("simulated bug in the engine")

    monkeypatch.setattr(handlers, "evaluate", broken)
    caplog.set_level(logging.ERROR, logger="webhook.server")
    status, body = await webhook.post(json.dumps(admission_review(ALLOWED[0])))
    assert status == 500
    assert body["message"] == "internal error in the egress webhook; its log has the traceback"
    assert "simulated bug" not in json.dumps(body)
    errors = [r for r in caplog.records if r.exc_info]
    assert len(errors) == 1
    assert "simulated bug in the engine" in str(errors[0].exc_info[1])  # type: ignore[index]


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample in a Prometheus text exposition."""
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]
