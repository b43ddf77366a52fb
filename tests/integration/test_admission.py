"""AdmissionReviews over real HTTPS: verdicts, uid echo, warnings, dry-run, operations, logs."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import (
    CertificateAuthority,
    RunningWebhook,
    admission_review,
    load_manifests,
    running_webhook,
)
from webhook.settings import Settings

ALLOWED = load_manifests("allowed")
DENIED = load_manifests("denied")


def _id(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _by_name(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["metadata"]["name"] == name)


async def test_response_echoes_uid_api_version_and_kind(webhook: RunningWebhook) -> None:
    review = admission_review(ALLOWED[0], uid="705ab4f5-6393-11e8-b7cc-42010a800002")
    body = await webhook.review(review)
    assert body["apiVersion"] == "admission.k8s.io/v1"
    assert body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002"
    assert set(body) == {"apiVersion", "kind", "response"}


@pytest.mark.parametrize("obj", ALLOWED, ids=_id)
async def test_compliant_objects_are_allowed(webhook: RunningWebhook, obj: dict[str, Any]) -> None:
    body = await webhook.review(admission_review(obj))
    response = body["response"]
    assert response["allowed"] is True
    assert "status" not in response
    assert response["auditAnnotations"]["decision"] in {"allowed", "not-handled"}


@pytest.mark.parametrize("obj", DENIED, ids=_id)
async def test_non_compliant_objects_are_denied_with_403(
    webhook: RunningWebhook, obj: dict[str, Any]
) -> None:
    body = await webhook.review(admission_review(obj))
    response = body["response"]
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 403
    assert status["reason"] == "Forbidden"
    assert obj["metadata"]["name"] in status["message"]
    assert response["auditAnnotations"]["decision"] == "denied"
    assert response["auditAnnotations"]["rules"]


async def test_denial_message_names_the_host_and_the_rule(webhook: RunningWebhook) -> None:
    body = await webhook.review(admission_review(_by_name(DENIED, "exfil")))
    message = body["response"]["status"]["message"]
    assert "evil.example.org" in message
    assert "not on the egress allowlist" in message
    assert "ServiceEntry default/exfil" in message


async def test_direct_route_denial_names_the_host(webhook: RunningWebhook) -> None:
    body = await webhook.review(admission_review(_by_name(DENIED, "github-direct")))
    message = body["response"]["status"]["message"]
    assert "VirtualService default/github-direct" in message
    assert "api.github.com" in message


@pytest.fixture
def warn_policy(policy_path: Path) -> None:
    """examples/policy.yaml in warn mode."""
    policy_path.write_text(policy_path.read_text().replace("mode: enforce", "mode: warn"))


@pytest.mark.usefixtures("warn_policy")
async def test_warn_mode_allows_and_returns_the_violations_as_warnings(
    settings: Settings, test_ca: CertificateAuthority
) -> None:
    async with running_webhook(settings, test_ca.cert_pem) as webhook:
        body = await webhook.review(admission_review(_by_name(DENIED, "exfil")))
    response = body["response"]
    assert response["allowed"] is True
    assert "status" not in response
    assert any("evil.example.org" in w for w in response["warnings"])
    assert all(len(w) <= 256 and "\n" not in w for w in response["warnings"])
    assert response["auditAnnotations"]["decision"] == "warned"


@pytest.mark.parametrize("obj", ALLOWED + DENIED, ids=_id)
async def test_dry_run_gets_the_identical_decision(
    webhook: RunningWebhook, obj: dict[str, Any]
) -> None:
    real = await webhook.review(admission_review(obj, uid="same", dry_run=False))
    dry = await webhook.review(admission_review(obj, uid="same", dry_run=True))
    assert dry == real


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
@pytest.mark.parametrize("obj", DENIED, ids=_id)
async def test_delete_and_connect_are_allowed_even_for_non_compliant_objects(
    webhook: RunningWebhook, obj: dict[str, Any], operation: str
) -> None:
    review = admission_review(None, operation=operation, old_object=obj)
    body = await webhook.review(review)
    assert body["response"]["allowed"] is True
    assert body["response"]["auditAnnotations"]["decision"] == "not-evaluated"


async def test_update_rechecks_the_new_object(webhook: RunningWebhook) -> None:
    old = _by_name(ALLOWED, "github")
    new = copy.deepcopy(_by_name(DENIED, "exfil"))
    new["metadata"]["name"] = "github"
    body = await webhook.review(admission_review(new, operation="UPDATE", old_object=old))
    assert body["response"]["allowed"] is False
    assert "evil.example.org" in body["response"]["status"]["message"]


@pytest.mark.parametrize(
    "obj",
    [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"}},
        {
            "apiVersion": "telemetry.istio.io/v1",
            "kind": "Telemetry",
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {"tracing": [{"providers": [{"name": "evil.example.org"}]}]},
        },
    ],
    ids=["ConfigMap", "Telemetry"],
)
async def test_kinds_not_handled_are_allowed(webhook: RunningWebhook, obj: dict[str, Any]) -> None:
    body = await webhook.review(admission_review(obj))
    assert body["response"]["allowed"] is True
    assert body["response"]["auditAnnotations"]["decision"] == "not-handled"


async def test_namespace_comes_from_the_request_when_the_object_has_none(
    webhook: RunningWebhook,
) -> None:
    obj = copy.deepcopy(_by_name(DENIED, "exfil"))
    del obj["metadata"]["namespace"]
    body = await webhook.review(admission_review(obj, namespace="istio-system"))
    # istio-system is exempt in examples/policy.yaml: the request's namespace was used
    assert body["response"]["allowed"] is True
    assert body["response"]["auditAnnotations"]["decision"] == "exempt"


async def test_largest_review_the_api_server_sends_is_accepted(webhook: RunningWebhook) -> None:
    obj = copy.deepcopy(_by_name(ALLOWED, "github"))
    obj["metadata"]["annotations"] = {"example.com/blob": "x" * (3 * 1024 * 1024)}
    review = admission_review(obj, operation="UPDATE", old_object=obj)
    assert len(json.dumps(review)) > 6 * 1024 * 1024
    body = await webhook.review(review)
    assert body["response"]["allowed"] is True


async def test_one_log_line_per_decision(
    webhook: RunningWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhook.decision")
    await webhook.review(admission_review(_by_name(DENIED, "exfil"), uid="u-1", dry_run=True))
    lines = [r for r in caplog.records if r.name == "webhook.decision"]
    assert len(lines) == 1
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["uid"] == "u-1"
    assert fields["kind"] == "ServiceEntry"
    assert fields["namespace"] == "default"
    assert fields["name"] == "exfil"
    assert fields["operation"] == "CREATE"
    assert fields["user"] == "alice@example.com"
    assert fields["dry_run"] is True
    assert isinstance(fields["allowed"], bool)
    assert isinstance(fields["rules_hit"], list)
    assert fields["latency_ms"] >= 0


async def test_advice_reaches_the_api_server_as_a_warning_on_an_allowed_review(
    webhook: RunningWebhook,
) -> None:
    wildcard = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "google", "namespace": "default"},
        "spec": {
            "hosts": ["*.googleapis.com"],
            "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
        },
    }
    response = (await webhook.review(admission_review(wildcard)))["response"]
    assert response["allowed"] is True
    [warning] = response["warnings"]
    assert warning.startswith("spec.resolution: resolution NONE (the default) for wildcard host")
    assert "prefer DYNAMIC_DNS" in warning
