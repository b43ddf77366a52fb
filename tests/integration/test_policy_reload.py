"""Policy reload while serving: a valid change takes effect, an invalid one never does."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningWebhook, admission_review, eventually, load_manifests

EXFIL = next(o for o in load_manifests("denied") if o["metadata"]["name"] == "exfil")
ALLOW_EVIL = """\
  - host: evil.example.org
    ports:
      - number: 443
egressGateway:"""


async def _allowed(webhook: RunningWebhook) -> bool:
    body = await webhook.review(admission_review(EXFIL))
    return bool(body["response"]["allowed"])


async def _readyz(webhook: RunningWebhook) -> dict[str, Any]:
    status, text = await webhook.get("/readyz")
    assert status == 200
    detail = json.loads(text)
    assert isinstance(detail, dict)
    return detail


async def _reload_failed(webhook: RunningWebhook) -> bool:
    return (await _readyz(webhook))["policy"]["lastReloadError"] is not None


async def _no_reload_error(webhook: RunningWebhook) -> bool:
    return not await _reload_failed(webhook)


async def _write(path: Path, text: str) -> None:
    await asyncio.to_thread(path.write_text, text)


async def test_a_valid_change_takes_effect(webhook: RunningWebhook, policy_path: Path) -> None:
    assert not await _allowed(webhook)
    before = (await _readyz(webhook))["policy"]["sha256"]

    original = await asyncio.to_thread(policy_path.read_text)
    await _write(policy_path, original.replace("egressGateway:", ALLOW_EVIL, 1))
    await eventually(lambda: _allowed(webhook), "the new policy allows evil.example.org")

    detail = await _readyz(webhook)
    assert detail["ready"] is True
    assert detail["policy"]["sha256"] != before
    assert detail["policy"]["lastReloadError"] is None
    _, metrics = await webhook.get("/metrics")
    assert 'egress_webhook_policy_reloads_total{result="success"} 1.0' in metrics
    assert "egress_webhook_policy_reload_healthy 1.0" in metrics


async def test_an_invalid_change_keeps_the_last_good_policy(
    webhook: RunningWebhook, policy_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    serving = (await _readyz(webhook))["policy"]["sha256"]
    original = await asyncio.to_thread(policy_path.read_text)
    # allows evil.example.org, but with a typo that makes the whole file invalid
    broken = original.replace("egressGateway:", ALLOW_EVIL, 1).replace("mode:", "mdoe:")
    await _write(policy_path, broken)

    await eventually(lambda: _reload_failed(webhook), "/readyz shows the reload error")
    detail = await _readyz(webhook)
    assert detail["ready"] is True
    assert detail["policy"]["sha256"] == serving
    error = detail["policy"]["lastReloadError"]
    assert any("mdoe" in p and "unknown field" in p for p in error["problems"])
    assert all(p.startswith(f"{policy_path}:") for p in error["problems"])
    assert "last good policy is still serving" in error["message"]

    # decisions still come from the last good policy
    assert not await _allowed(webhook)

    _, metrics = await webhook.get("/metrics")
    assert 'egress_webhook_policy_reloads_total{result="failure"} 1.0' in metrics
    assert "egress_webhook_policy_reload_healthy 0.0" in metrics
    failures = [
        r for r in caplog.records if getattr(r, "fields", {}).get("event") == "policy_reload_failed"
    ]
    assert len(failures) == 1, "one log line per failed version, not one per check"
    assert any("mdoe" in p for p in failures[0].fields["problems"])  # type: ignore[attr-defined]

    # fixing the file clears the failure and the fix takes effect
    await _write(policy_path, broken.replace("mdoe:", "mode:"))
    await eventually(lambda: _allowed(webhook), "the new policy allows evil.example.org")
    assert (await _readyz(webhook))["policy"]["lastReloadError"] is None


async def test_reverting_to_the_serving_content_clears_the_failure(
    webhook: RunningWebhook, policy_path: Path
) -> None:
    original = await asyncio.to_thread(policy_path.read_text)
    await _write(policy_path, "allowlist: [")
    await eventually(lambda: _reload_failed(webhook), "/readyz shows the reload error")
    await _write(policy_path, original)
    await eventually(lambda: _no_reload_error(webhook), "/readyz error cleared")
    _, metrics = await webhook.get("/metrics")
    assert 'egress_webhook_policy_reloads_total{result="success"} 0.0' in metrics


async def test_a_configmap_symlink_swap_is_noticed(webhook: RunningWebhook, tmp_path: Path) -> None:
    """A ConfigMap volume swaps ``..data``; the policy path itself never changes."""
    settings = webhook.app_settings
    # the fixture's policy is a plain file; build a ConfigMap-like layout and point at it
    volume = tmp_path / "cm"
    volume.mkdir()

    def publish(name: str, text: str) -> None:
        (volume / name).mkdir()
        (volume / name / "policy.yaml").write_text(text)
        tmp = volume / "..data_tmp"
        tmp.symlink_to(name)
        os.replace(tmp, volume / "..data")

    original = await asyncio.to_thread(settings.policy.read_text)
    await asyncio.to_thread(publish, "..v1", original)
    await asyncio.to_thread((volume / "policy.yaml").symlink_to, "..data/policy.yaml")
    # swap the policy file in place for a link into the volume (same content: no reload)
    link = tmp_path / "policy-link"
    await asyncio.to_thread(link.symlink_to, volume / "policy.yaml")
    passes = await _reload_passes(webhook)
    await asyncio.to_thread(os.replace, link, settings.policy)
    # two passes: the second surely started after the swap, and so looked at it
    await eventually(
        lambda: _reload_passes_beyond(webhook, passes + 1), "a reload pass after the swap"
    )
    assert (await _readyz(webhook))["policy"]["lastReloadError"] is None

    await asyncio.to_thread(publish, "..v2", original.replace("egressGateway:", ALLOW_EVIL, 1))
    await eventually(lambda: _allowed(webhook), "the new policy allows evil.example.org")


async def _reload_passes(webhook: RunningWebhook) -> float:
    """How many passes the reload loop has completed (egress_webhook_reload_checks_total)."""
    _, metrics = await webhook.get("/metrics")
    for line in metrics.splitlines():
        if line.startswith("egress_webhook_reload_checks_total "):
            return float(line.split()[1])
    raise AssertionError("egress_webhook_reload_checks_total is not in /metrics")


async def _reload_passes_beyond(webhook: RunningWebhook, passes: float) -> bool:
    return await _reload_passes(webhook) > passes
