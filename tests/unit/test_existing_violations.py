"""existingViolations: an UPDATE that adds no violation to an old, non-compliant object."""

from __future__ import annotations

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import RULES_POLICY, RULES_POLICY_YAML, tls_service_entry
from webhook.policy.engine import evaluate

OLD = tls_service_entry("evil.example.org")


def test_an_update_adding_nothing_new_is_allowed_with_the_old_violations_as_warnings() -> None:
    new = tls_service_entry("evil.example.org")
    new["metadata"]["labels"] = {"team": "a"}
    decision = evaluate(new, RULES_POLICY, operation="UPDATE", old_object=OLD)
    assert decision.allowed
    assert any("existing violation" in w and "evil.example.org" in w for w in decision.warnings)


def test_an_update_adding_a_violation_is_denied() -> None:
    new = tls_service_entry("evil.example.org", hosts=["evil.example.org", "worse.example.org"])
    decision = evaluate(new, RULES_POLICY, operation="UPDATE", old_object=OLD)
    assert not decision.allowed
    assert "worse.example.org" in decision.message()


def test_create_and_deny_mode_ignore_the_old_object() -> None:
    assert not evaluate(OLD, RULES_POLICY).allowed
    strict = policy_from(RULES_POLICY_YAML + "existingViolations: deny\n")
    assert not evaluate(OLD, strict, operation="UPDATE", old_object=OLD).allowed
