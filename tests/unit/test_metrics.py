"""The metrics' own bounds: namespaces on the violations counter stop at a limit."""

from __future__ import annotations

from tests.conftest import ROOT
from webhook.policy.decision import Decision, Violation
from webhook.server.metrics import NAMESPACE_LABEL_LIMIT, WebhookMetrics


def _denied(namespace: str, *rules: str) -> Decision:
    return Decision(
        kind="ServiceEntry",
        namespace=namespace,
        name="x",
        allowed=False,
        violations=tuple(Violation(rule=r, field="spec.hosts[0]", message="m") for r in rules),
        rules_hit=rules,
    )


def _violations(metrics: WebhookMetrics) -> dict[tuple[str, str], float]:
    return {
        (s.labels["rule"], s.labels["namespace"]): s.value
        for family in metrics.registry.collect()
        if family.name == "egress_webhook_policy_violations"
        for s in family.samples
    }


def test_namespaces_past_the_limit_are_counted_as_other() -> None:
    metrics = WebhookMetrics(namespace_label_limit=2)
    for namespace in ("a", "b", "c", "d", "a"):
        metrics.observe_review(
            "ServiceEntry", "CREATE", "denied", 0.001, verdict=_denied(namespace, "r1", "r2")
        )
    assert _violations(metrics) == {
        ("r1", "a"): 2.0,
        ("r2", "a"): 2.0,
        ("r1", "b"): 1.0,
        ("r2", "b"): 1.0,
        ("r1", "other"): 2.0,
        ("r2", "other"): 2.0,
    }


def test_the_readme_documents_the_namespace_bound() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"for the first {NAMESPACE_LABEL_LIMIT} distinct namespaces" in readme


def test_an_allowed_review_counts_no_violation() -> None:
    metrics = WebhookMetrics()
    allowed = Decision(kind="ServiceEntry", namespace="a", name="x", allowed=True)
    metrics.observe_review("ServiceEntry", "CREATE", "allowed", 0.001, verdict=allowed)
    assert _violations(metrics) == {}


def test_policy_info_holds_one_series() -> None:
    metrics = WebhookMetrics()
    metrics.observe_policy("aa", "enforce")
    metrics.observe_policy("bb", "warn")
    samples = [
        s
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "egress_webhook_policy_info"
    ]
    assert [(s.labels, s.value) for s in samples] == [({"sha256": "bb", "mode": "warn"}, 1.0)]
